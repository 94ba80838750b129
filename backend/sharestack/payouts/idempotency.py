"""``Idempotency-Key`` for ``POST /payouts``: the first request with a key runs, its answer is
stored in the same transaction, and every later request with the key (and the same body) gets
that stored answer back, byte for byte, for 24 hours.

Concurrency comes from the unique (creator, key) row: the first request inserts it and holds its
lock until it commits; a concurrent request's insert waits on that lock (InnoDB), then sees the
committed row and replays it. If the first request fails, its transaction (row included) rolls
back and the waiting request runs afresh: errors are not stored, so a retry after a refusal
(insufficient funds, a limit) is decided again.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sharestack.db.base import utcnow
from sharestack.db.session import WriteSession
from sharestack.payouts import repository
from sharestack.payouts.exceptions import (
    IdempotencyKeyInFlight,
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
)

KEEP = timedelta(hours=24)
_KEY = re.compile(r"[\x21-\x7e]{1,64}")


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: str
    replayed: bool


def check_key(key: str | None) -> str:
    if key is None or _KEY.fullmatch(key) is None:
        raise IdempotencyKeyInvalid(fields={"Idempotency-Key": "1-64 visible ASCII characters"})
    return key


async def run_once(
    session: WriteSession,
    creator_id: int,
    key: str,
    request_hash: str,
    produce: Callable[[], Awaitable[tuple[int, str]]],
) -> StoredResponse:
    claimed = await repository.claim_idempotency_key(
        session, creator_id, key, request_hash, utcnow()
    )
    if not claimed:
        stored = await repository.get_idempotency_key(session, creator_id, key)
        if stored is None or stored.status_code is None or stored.response_body is None:
            # Only possible if the row vanished (purged) or a writer stored no answer.
            raise IdempotencyKeyInFlight(headers={"Retry-After": "1"})
        if stored.request_hash != request_hash:
            raise IdempotencyKeyReused(fields={"Idempotency-Key": "used for another request"})
        return StoredResponse(stored.status_code, stored.response_body, replayed=True)
    status_code, body = await produce()
    await repository.store_response(session, creator_id, key, status_code, body)
    return StoredResponse(status_code, body, replayed=False)


async def purge(session: WriteSession, limit: int = 1000) -> int:
    return await repository.purge_idempotency_keys(session, utcnow() - KEEP, limit)
