"""The payouts' periodic jobs (scheduled in ``jobs/schedule.py``, registered through
``sharestack.job_index``): sending due payouts and reconciling yesterday's statements."""

from __future__ import annotations

import logging
from datetime import timedelta

from sharestack.db.after_commit import write_transaction
from sharestack.db.base import utcnow
from sharestack.jobs.registry import job
from sharestack.payments.providers import transfer_providers_from_settings
from sharestack.payments.providers._common import CHINA_TZ
from sharestack.payments.providers.base import ProviderError
from sharestack.payments.providers.transfers import StatementProvider, TransferProvider
from sharestack.payouts import reconciliation, repository, sending
from sharestack.payouts.rules import PayoutPolicy
from sharestack.resources import Resources

logger = logging.getLogger(__name__)

# One set of adapters per process (they hold HTTP clients and loaded keys), by settings object.
_PROVIDERS: dict[int, tuple[dict[str, TransferProvider], dict[str, StatementProvider]]] = {}


def providers(ctx: Resources) -> tuple[dict[str, TransferProvider], dict[str, StatementProvider]]:
    key = id(ctx.settings)
    if key not in _PROVIDERS:
        _PROVIDERS[key] = transfer_providers_from_settings(ctx.settings)
    return _PROVIDERS[key]


@job(retries=1, timeout=300)
async def send_payouts(ctx: Resources) -> int:
    """Send, query, cancel and settle due payouts, batch after batch until none is due; returns
    how many were looked at. A failure of one payout's provider call is recorded on it (and
    retried on its own schedule), never raised here."""
    policy = PayoutPolicy.from_settings(ctx.settings)
    transfers, _ = providers(ctx)
    seen = 0
    while True:
        report = await sending.send_due(ctx.db, transfers, policy, ctx.sealer)
        seen += report.claimed
        if report.claimed < policy.send_batch:
            return seen


@job(retries=3, retry_delay=300.0, timeout=1800)
async def reconcile_statements(ctx: Resources) -> int:
    """Fetch each provider's statement of the last RECONCILIATION_DAYS_BACK days and compare it
    with the ledger; returns the mismatches found. Statements appear the next morning (Beijing
    time), so this runs mid-morning. A provider that cannot be reached is logged and the others
    still run; the job retries later."""
    _, statements = providers(ctx)
    today = utcnow().astimezone(CHINA_TZ).date()
    found, failed = 0, 0
    for back in range(1, ctx.settings.reconciliation_days_back + 1):
        day = today - timedelta(days=back)
        for name, provider in sorted(statements.items()):
            try:
                lines = await provider.statement(day)
            except ProviderError as exc:
                failed += 1
                logger.warning("statement of %s for %s unavailable: %s", name, day, exc)
                continue
            async with write_transaction(ctx.db) as session:
                summary = await reconciliation.reconcile(session, name, day, lines)
            found += len(summary.mismatches)
            level = logging.ERROR if summary.mismatches else logging.INFO
            logger.log(
                level,
                "reconciled %s %s: %d lines, %d ledger items, %d mismatches",
                name,
                day,
                summary.lines,
                summary.ledger_items,
                len(summary.mismatches),
                extra={"event": "reconciliation", "provider": name},
            )
    if failed:
        raise RuntimeError(f"{failed} statements could not be fetched; retrying")
    return found


@job(retries=3, timeout=120)
async def check_payout(ctx: Resources, payout_id: int) -> int:
    """A provider said a payout's transfer changed: make the payout due now and send what is
    due (which queries it: the notification itself is never taken as the outcome)."""
    async with write_transaction(ctx.db) as session:
        due = await repository.make_due(session, payout_id, utcnow())
    if not due:
        return 0
    policy = PayoutPolicy.from_settings(ctx.settings)
    transfers, _ = providers(ctx)
    report = await sending.send_due(ctx.db, transfers, policy, ctx.sealer)
    return report.claimed
