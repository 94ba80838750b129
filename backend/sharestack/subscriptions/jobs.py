"""Subscriptions' periodic jobs (``sharestack/jobs/schedule.py``). Each claims what it changes
with ``FOR UPDATE SKIP LOCKED`` plus a conditional UPDATE, so workers running one at once
share the work and change each row once."""

from __future__ import annotations

import logging
from datetime import timedelta

from sharestack.db.after_commit import write_transaction
from sharestack.db.base import utcnow
from sharestack.jobs.registry import job
from sharestack.resources import Resources
from sharestack.subscriptions import lifecycle, repository

logger = logging.getLogger(__name__)

REMIND_BEFORE = timedelta(days=3)
BATCH = 200


@job(retries=2, timeout=120)
async def end_subscription_periods(ctx: Resources) -> None:
    """Canceled-at-end and fixed-term subscriptions end when their period does; past_due ones
    expire when their grace does."""
    while True:
        async with write_transaction(ctx.db) as session:
            changed = await lifecycle.end_periods(session, ctx.settings, limit=BATCH)
        if changed < BATCH:
            return


@job(retries=2, timeout=120)
async def send_renewal_reminders(ctx: Resources) -> None:
    """Fixed-term subscriptions ending within three days: remind the reader once per period (a
    new period resets ``reminded_at``). Delivery is a log line until notifications exist."""
    now = utcnow()
    async with write_transaction(ctx.db) as session:
        for row in await repository.ending_unreminded(session, now, now + REMIND_BEFORE, BATCH):
            if await repository.mark_reminded(session, row.id, now):
                logger.info(
                    "subscription ends soon",
                    extra={
                        "event": "subscription_reminder",
                        "subscription_id": row.id,
                        "subscriber_id": row.subscriber_id,
                        "period_end": str(row.current_period_end),
                    },
                )
