"""Whether a reader may read a creator's subscribers-only bodies, cheaply on the hot path.

Cached per reader, for every creator at once, under the reader's invalidation scope
(``keys.scope_entitlement``): a reader reads many creators, and one entry (one query to fill it)
answers for all of them, where an entry per (reader, creator) missed on nearly every first
pair. Every subscription change notes the reader's scope (``repository.transition`` /
``change_flags``), so the cache drops it after the commit, before the response or the job
finishes. What is cached is, per creator, the moment access ends, compared with the clock on
every read: a period that runs out needs no invalidation.

No stale denial: a payment confirmed by the webhook job invalidates the entry with the job's
commit position (the generation token carries the primary's GTID), so the reader's next read
fills from a replica that has applied that commit, or from the primary, never from one that has
not; the reader's own read-your-writes token would not cover a change a job made.
"""

from __future__ import annotations

import time

import orjson

from sharestack.cache import keys
from sharestack.cache.reads import CachedReads
from sharestack.db.session import ReadSession
from sharestack.subscriptions import repository

# Bump when the cached bytes change meaning.
PAYLOAD_VERSION = "e2"


async def access_until(session: ReadSession, reader_id: int) -> dict[int, float]:
    """Creator id -> the moment (Unix time) the reader's access to them ends."""
    until = await repository.access_until_by_creator(session, reader_id)
    return {creator_id: end.timestamp() for creator_id, end in until.items()}


def _ends(payload: bytes | None, creator_id: int) -> float:
    if not payload:
        return 0.0
    ends: dict[str, float] = orjson.loads(payload)
    return ends.get(str(creator_id), 0.0)


async def has_access(reads: CachedReads, reader_id: int, creator_id: int) -> bool:
    async def fill(session: ReadSession) -> bytes:
        return orjson.dumps(
            {str(c): end for c, end in (await access_until(session, reader_id)).items()}
        )

    key = keys.entitlement(reads.prefix, reader_id, PAYLOAD_VERSION)
    return _ends(await reads.get(key, fill), creator_id) > time.time()
