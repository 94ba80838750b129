"""The ledger's periodic jobs (scheduled in ``jobs/schedule.py``, registered through
``sharestack.job_index``)."""

from __future__ import annotations

import logging

from sharestack.db.after_commit import write_transaction
from sharestack.db.base import utcnow
from sharestack.jobs.registry import job
from sharestack.ledger import earnings
from sharestack.ledger.invariants import check_invariants
from sharestack.ledger.rules import LedgerPolicy
from sharestack.resources import Resources

logger = logging.getLogger(__name__)


@job(retries=3, retry_delay=5.0, timeout=300)
async def release_ledger_holds(ctx: Resources) -> int:
    """Release due holds, one batch per transaction, until none is due; returns how many
    journals were posted. Safe to run on several workers at once (see earnings.release_holds)."""
    policy = LedgerPolicy.from_settings(ctx.settings)
    now = utcnow()
    posted = 0
    while True:
        async with write_transaction(ctx.db) as session:
            journals = await earnings.release_holds(session, now, policy=policy)
        posted += sum(1 for j in journals if j.created)
        if len(journals) < policy.release_batch:
            return posted


@job(retries=1, timeout=600)
async def check_ledger(ctx: Resources) -> int:
    """Log every invariant violation at ERROR (an alert, not a retry: re-running finds the
    same); returns how many were found. Reads a replica when one is healthy."""
    async with ctx.db.routing.reading() as session:
        violations = await check_invariants(session)
    for violation in violations:
        logger.error(
            "ledger invariant violated",
            extra={
                "event": "ledger_violation",
                "check": violation.check,
                "detail": violation.detail,
            },
        )
    if not violations:
        logger.info("ledger invariants hold", extra={"event": "ledger_check"})
    return len(violations)
