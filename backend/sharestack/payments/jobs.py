"""Payments' jobs (registered through ``sharestack.job_index``; periodic ones are in
``sharestack/jobs/schedule.py``). Each is idempotent: transitions are conditional, so a job run
twice changes nothing the second time. A provider that does not answer raises, and the job is
retried with backoff."""

from __future__ import annotations

import logging
from datetime import timedelta

from sharestack.db.after_commit import write_transaction
from sharestack.db.base import utcnow
from sharestack.jobs import outbox
from sharestack.jobs.registry import job
from sharestack.payments import renewals, repository, webhooks
from sharestack.resources import Resources

logger = logging.getLogger(__name__)

# A pending payment is asked about after this long without news (a lost notification).
PENDING_QUERY_AFTER = timedelta(minutes=10)
# Events still unprocessed after this long are processed again (a job lost with its worker).
EVENT_RETRY_AFTER = timedelta(minutes=5)


class Undelivered(Exception):
    """The webhook did not acknowledge a sandbox notification: retry, as a provider would."""


@job(retries=8, retry_delay=1.0, timeout=60)
async def process_provider_event(ctx: Resources, *, event_id: int) -> None:
    outcome = await webhooks.process(ctx.db, ctx.payments, ctx.settings, event_id)
    logger.info("provider event processed", extra={"event_id": event_id, "outcome": outcome})


@job(retries=8, retry_delay=2.0, timeout=60)
async def settle_payment(ctx: Resources, *, payment_id: int) -> None:
    """Settle a payment a provider timeout left ``unknown`` by asking the provider."""
    async with write_transaction(ctx.db) as session:
        payment = await repository.get(session, payment_id)
    if payment is None or payment.status not in ("unknown", "pending"):
        return
    provider = ctx.payments.get(payment.provider)
    if provider is not None:
        await webhooks.settle_payment(ctx.db, provider, ctx.settings, payment_id)


@job(retries=8, retry_delay=2.0, timeout=60)
async def settle_refund(ctx: Resources, *, refund_id: int) -> None:
    async with write_transaction(ctx.db) as session:
        refund = await repository.get_refund(session, refund_id)
        payment = await repository.get(session, refund.payment_id) if refund else None
    if refund is None or payment is None or refund.status not in ("unknown", "pending"):
        return
    provider = ctx.payments.get(payment.provider)
    if provider is not None:
        await webhooks.settle_refund(ctx.db, provider, refund_id)


@job(retries=6, retry_delay=0.5, timeout=30)
async def deliver_sandbox_notification(
    ctx: Resources, *, provider: str, headers: dict[str, str], body: str
) -> None:
    async with write_transaction(ctx.db) as session:
        ack = await webhooks.receive(session, ctx.payments, provider, headers, body.encode())
    if ack.status != 200:
        raise Undelivered(f"webhook answered {ack.status}")


@job(retries=1, timeout=300)
async def charge_due_renewals(ctx: Resources) -> None:
    counts = await renewals.charge_due(ctx.db, ctx.payments, ctx.settings)
    if counts:
        logger.info("renewals charged", extra={"event": "renewals", "counts": counts})


@job(retries=1, timeout=120)
async def reconcile_payments(ctx: Resources) -> None:
    """The safety net under notifications: ask providers about every payment and refund still
    unknown (or pending too long), and re-run events whose processing was lost."""
    now = utcnow()
    async with write_transaction(ctx.db) as session:
        for payment in await repository.unsettled(session, now - PENDING_QUERY_AFTER, 100):
            await outbox.enqueue(session, "settle_payment", payment_id=payment.id)
        for refund in await repository.unsettled_refunds(session, now - PENDING_QUERY_AFTER, 100):
            await outbox.enqueue(session, "settle_refund", refund_id=refund.id)
        for event_id in await repository.unprocessed_events(session, now - EVENT_RETRY_AFTER, 100):
            await outbox.enqueue(session, "process_provider_event", event_id=event_id)
