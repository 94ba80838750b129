"""Whether a reader may read a creator's subscribers-only bodies, cheaply on the hot path.

Cached per (reader, creator) under its own invalidation scope (``keys.scope_entitlement``);
every subscription change notes that scope (``repository.transition`` / ``change_flags``), so
the cache drops it after the commit, before the response or the job finishes. What is cached is
the moment access ends (``0``: no access), compared with the clock on every read: a period that
runs out needs no invalidation.

No stale denial: a payment confirmed by the webhook job invalidates the entry with the job's
commit position (the generation token carries the primary's GTID), so the reader's next read
fills from a replica that has applied that commit, or from the primary, never from one that has
not; the reader's own read-your-writes token would not cover a change a job made.
"""

from __future__ import annotations

import time

from sharestack.cache import keys
from sharestack.cache.reads import CachedReads
from sharestack.db.session import ReadSession
from sharestack.subscriptions import repository

# Bump when the cached bytes change meaning.
PAYLOAD_VERSION = "e1"


async def access_until_timestamp(session: ReadSession, reader_id: int, creator_id: int) -> float:
    until = await repository.access_until_for(session, reader_id, creator_id)
    return until.timestamp() if until is not None else 0.0


async def has_access(reads: CachedReads, reader_id: int, creator_id: int) -> bool:
    async def fill(session: ReadSession) -> bytes:
        return repr(await access_until_timestamp(session, reader_id, creator_id)).encode()

    key = keys.entitlement(reads.prefix, reader_id, creator_id, PAYLOAD_VERSION)
    payload = await reads.get(key, fill)
    return payload is not None and float(payload) > time.time()
