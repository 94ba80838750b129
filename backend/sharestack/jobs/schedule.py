"""The cron-like schedule: every periodic job, its cron expression, in one table.

Expressions are croniter's (minute hour day month weekday, with an optional sixth field for
seconds). Each entry runs once per schedule tick across all workers (SAQ makes the key unique).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scheduled:
    job: str
    cron: str
    timeout: int = 30


SCHEDULE: tuple[Scheduled, ...] = (
    # Redis memory and keyspace figures per role, for capacity planning (see docs/operations.md).
    Scheduled("record_redis_stats", "* * * * * */15"),
    # Committed jobs the API's relay did not hand over (an API process died after commit).
    Scheduled("relay_outbox", "* * * * * */5"),
    # Pending creator money older than LEDGER_HOLD_DAYS becomes available for payout.
    Scheduled("release_ledger_holds", "*/10 * * * *", timeout=300),
    # Balanced journals, cached balances equal to their entries, no forbidden negative balance.
    Scheduled("check_ledger", "17 * * * *", timeout=600),
    # Billing: renewals due (claimed, so workers share them), periods that ended, providers
    # asked about unsettled payments, the end-of-term reminders, expired idempotency keys.
    Scheduled("charge_due_renewals", "* * * * *", timeout=300),
    Scheduled("end_subscription_periods", "* * * * *", timeout=120),
    Scheduled("reconcile_payments", "* * * * *", timeout=120),
    Scheduled("send_renewal_reminders", "17 * * * *", timeout=120),
    Scheduled("purge_idempotency_records", "41 * * * *", timeout=120),
    # Due payouts: sent, queried after unclear answers, cancelled when unconfirmed, settled.
    Scheduled("send_payouts", "* * * * *", timeout=300),
    # Yesterday's provider statements against the ledger (published by 10:00 Beijing time).
    Scheduled("reconcile_statements", "30 2 * * *", timeout=1800),
    # Media no article uses any more, deleted media past the grace period, unreferenced files.
    Scheduled("clean_up_media", "*/15 * * * *", timeout=600),
)
