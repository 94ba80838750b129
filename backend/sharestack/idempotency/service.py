"""Idempotency for money-moving requests (checkouts, refunds, payouts).

A request carries an ``Idempotency-Key``. Keyed by (caller, scope, key), a record holds the hash
of the request and, once done, the response (status and exact bytes); it is kept at least
``IDEMPOTENCY_TTL_HOURS`` (24 h).

1. ``begin`` inserts the record ``in_progress`` in a short transaction of its own, committed at
   once. The unique key decides who does the work: of any number of concurrent requests exactly
   one inserts; the others get a duplicate-key error (after waiting for the winner's commit on
   the key's lock) and read the record: another body → 409 ``idempotency_key_reused``;
   completed → the stored response is replayed; in progress → they poll (each poll a fresh
   read on the primary) for up to ``WAIT_SECONDS``, then answer 409 with ``Retry-After``.
2. The work runs in the request's transaction and, in that same transaction, stores the
   response (``complete``): the effect and the answer commit together or not at all.
3. If the work fails, the record is deleted (``release``), so a retry does the work afresh;
   if the process dies instead, the record's lock expires after ``LOCK_SECONDS`` and the next
   retry takes it over. Order numbers are derived from the record's id, so a take-over reaches
   the provider under the same number as the attempt it replaces.

Waiting requests hold no database connection between polls, so a burst of retries cannot
exhaust the pool.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

import orjson
import sqlalchemy as sa
from fastapi import Header
from pydantic import BaseModel
from pydantic_core import to_json
from starlette.responses import Response

from sharestack.config import Settings
from sharestack.db.after_commit import write_transaction
from sharestack.db.base import utcnow
from sharestack.db.engine import Database
from sharestack.db.session import WriteSession
from sharestack.errors import InvalidInput
from sharestack.idempotency import repository
from sharestack.idempotency.exceptions import IdempotencyInProgress, IdempotencyKeyReused
from sharestack.idempotency.models import IdempotencyRecord
from sharestack.metrics.registry import PAYMENT_IDEMPOTENT_REPLAYS

logger = logging.getLogger(__name__)

LOCK_SECONDS = 30
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.05
REPLAYED_HEADER = "Idempotent-Replayed"


# Visible ASCII, inner spaces allowed: what survives an HTTP header unchanged.
KEY_PATTERN = r"^[!-~]([ -~]*[!-~])?$"
_KEY = re.compile(KEY_PATTERN)

# The header every idempotent route takes (required: a money-moving request without one is 422).
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=KEY_PATTERN,
        description="retry key: a repeat with the same body within the record's lifetime "
        "(IDEMPOTENCY_TTL_HOURS) returns the first answer",
    ),
]


@dataclass(frozen=True)
class Claim:
    record_id: int


@dataclass(frozen=True)
class Replay:
    status: int
    body: bytes


def request_hash(scope: str, body: BaseModel) -> str:
    """The request as parsed (so whitespace and key order do not matter), with its scope."""
    canonical = orjson.dumps(
        {"scope": scope, "body": body.model_dump(mode="json")}, option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(canonical).hexdigest()


def check_key(key: str) -> str:
    if not 1 <= len(key) <= 255 or _KEY.fullmatch(key) is None:
        raise InvalidInput(fields={"Idempotency-Key": "1-255 visible ASCII characters"})
    return key


async def _insert(
    db: Database, user_id: int, scope: str, key: str, digest: str, ttl: timedelta
) -> int | None:
    now = utcnow()
    try:
        async with write_transaction(db) as session:
            record = IdempotencyRecord(
                user_id=user_id,
                scope=scope,
                key=key,
                request_hash=digest,
                status="in_progress",
                lock_expires_at=now + timedelta(seconds=LOCK_SECONDS),
                expires_at=now + ttl,
            )
            session.add(record)
            await session.flush()
            return record.id
    except sa.exc.IntegrityError:
        return None


async def begin(
    db: Database, settings: Settings, user_id: int, scope: str, key: str, digest: str
) -> Claim | Replay:
    ttl = timedelta(hours=settings.idempotency_ttl_hours)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            record_id = await _insert(db, user_id, scope, key, digest, ttl)
        except sa.exc.OperationalError:
            # A deadlock between inserts of one key (possible when the first inserter rolled
            # back): the victim simply looks again.
            record_id = None
        if record_id is not None:
            return Claim(record_id)
        async with write_transaction(db) as session:
            outcome = await _inspect(session, user_id, scope, key, digest)
        if outcome is not None:
            return outcome
        if time.monotonic() > deadline:
            raise IdempotencyInProgress(headers={"Retry-After": "1"})
        await asyncio.sleep(POLL_SECONDS)


async def _inspect(
    session: WriteSession, user_id: int, scope: str, key: str, digest: str
) -> Claim | Replay | None:
    """What a request that lost the insert race does: None means "look again shortly"."""
    record = await repository.find_record(session, user_id, scope, key)
    now = utcnow()
    if record is None:
        return None  # released by a failed first attempt: try to insert again
    if record.expires_at < now:
        await repository.delete_record(session, record.id, in_progress_only=False)
        return None
    if record.request_hash != digest:
        raise IdempotencyKeyReused()
    if record.status == "completed":
        PAYMENT_IDEMPOTENT_REPLAYS.labels(scope.split(":", 1)[0]).inc()
        assert record.response_status is not None
        assert record.response_body is not None
        return Replay(record.response_status, record.response_body.encode())
    if record.lock_expires_at < now and await repository.take_over_record(
        session, record, now + timedelta(seconds=LOCK_SECONDS)
    ):
        logger.warning("taking over an abandoned idempotent request", extra={"record": record.id})
        return Claim(record.id)
    return None


async def release(db: Database, record_id: int) -> None:
    try:
        async with write_transaction(db) as session:
            await repository.delete_record(session, record_id, in_progress_only=True)
    except Exception:  # the lock expires anyway; a retry then takes the record over
        logger.warning("could not release idempotency record %s", record_id, exc_info=True)


async def run(
    db: Database,
    session: WriteSession,
    settings: Settings,
    *,
    user_id: int,
    scope: str,
    key: str,
    request: BaseModel,
    work: Callable[[int], Awaitable[BaseModel]],
    status_code: int = 201,
) -> Response:
    """Do ``work(record_id)`` once per (caller, scope, key); answer every retry with the same
    status and bytes."""
    outcome = await begin(
        db, settings, user_id, scope, check_key(key), request_hash(scope, request)
    )
    if isinstance(outcome, Replay):
        return Response(
            outcome.body,
            status_code=outcome.status,
            media_type="application/json",
            headers={REPLAYED_HEADER: "true"},
        )
    try:
        result = await work(outcome.record_id)
        body = to_json(result)
        await repository.complete_record(session, outcome.record_id, status_code, body)
    except BaseException:
        await session.rollback()
        await release(db, outcome.record_id)
        raise
    return Response(body, status_code=status_code, media_type="application/json")
