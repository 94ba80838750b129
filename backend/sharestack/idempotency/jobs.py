"""Expired idempotency records (kept ``IDEMPOTENCY_TTL_HOURS``), a thousand per transaction."""

from __future__ import annotations

from sharestack.db.after_commit import write_transaction
from sharestack.db.base import utcnow
from sharestack.idempotency import repository
from sharestack.jobs.registry import job
from sharestack.resources import Resources


@job(retries=1, timeout=120)
async def purge_idempotency_records(ctx: Resources) -> int:
    purged = 0
    while True:
        async with write_transaction(ctx.db) as session:
            batch = await repository.purge_records(session, utcnow())
        purged += batch
        if batch < 1000:
            return purged
