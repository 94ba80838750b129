"""Which renewals are due, claimed so that any number of workers charge each period once.

A worker locks a batch of due rows (``FOR UPDATE SKIP LOCKED``: workers take disjoint batches)
and claims each with a conditional UPDATE that sets ``renew_at`` to NULL and moves the attempt
counter on, only if the row is still due as read. The claim, and the pending payment the
payments domain inserts for it, commit together; the order number is derived from
(subscription, period, attempt), and is unique, so even a claim made twice could not become two
charges. Nothing is due again until the attempt is settled (``lifecycle.paid`` /
``renewal_failed`` set the next ``renew_at``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sharestack.db.session import WriteSession
from sharestack.subscriptions import repository


@dataclass(frozen=True)
class RenewalClaim:
    subscription_id: int
    subscriber_id: int
    creator_id: int
    plan_name: str
    amount: int
    currency: str
    period: int  # the period this attempt pays for
    attempt: int


async def claim_due(session: WriteSession, now: datetime, limit: int = 100) -> list[RenewalClaim]:
    rows = await repository.lock_due_renewals(session, now, limit)
    plans = await repository.plans_by_id(session, {row.plan_id for row in rows})
    claims = []
    for row in rows:
        if not await repository.claim_renewal(session, row, now):
            continue
        plan = plans[row.plan_id]
        claims.append(
            RenewalClaim(
                subscription_id=row.id,
                subscriber_id=row.subscriber_id,
                creator_id=row.creator_id,
                plan_name=plan.name,
                amount=plan.price_amount,
                currency=plan.currency,
                period=row.period_number + 1,
                attempt=row.renewal_attempt + 1,
            )
        )
    return claims
