"""A subscription's life: created by a checkout, activated and extended by paid periods,
canceled at period end or resumed before it, ended by the period-end sweep. Every status change
goes through ``repository.transition`` (the state machine of ``states.py``) and invalidates the
reader's cached entitlement after the commit.

The payments domain calls :func:`paid` in the transaction that moved a payment to
``succeeded``; that payment transition is conditional and happens once, so a period is credited
once per payment however many notifications, queries or workers report it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sharestack.config import Settings
from sharestack.db.base import utcnow
from sharestack.db.session import WriteSession
from sharestack.subscriptions import repository
from sharestack.subscriptions.exceptions import (
    OwnPlan,
    PlanArchived,
    PlanNotFound,
    SubscriptionNotFound,
    SubscriptionStateConflict,
)
from sharestack.subscriptions.models import Subscription
from sharestack.subscriptions.states import add_interval, payment_transition

# Renewals are charged this long before the paid period ends, so a reader whose charge
# succeeds never loses access, and one whose charge fails is retried while still paid up.
RENEW_BEFORE = timedelta(days=1)


@dataclass(frozen=True)
class CheckoutTerms:
    """What a checkout charges for: one period of the plan, for this subscription."""

    subscription_id: int
    subscriber_id: int
    creator_id: int
    plan_id: int
    plan_name: str
    amount: int
    currency: str
    interval: str
    period_end: datetime | None


def _renew_at(subscription: Subscription, period_end: datetime | None) -> datetime | None:
    if not subscription.auto_renew or period_end is None or subscription.cancel_at_period_end:
        return None
    return period_end - RENEW_BEFORE


async def prepare_checkout(
    session: WriteSession, subscriber_id: int, plan_id: int
) -> CheckoutTerms:
    plan = await repository.get_plan(session, plan_id)
    if plan is None:
        raise PlanNotFound()
    if not plan.is_active:
        raise PlanArchived()
    if plan.creator_id == subscriber_id:
        raise OwnPlan(fields={"plan_id": "this is your own plan"})
    subscription = await repository.ensure(session, subscriber_id, plan)
    return CheckoutTerms(
        subscription_id=subscription.id,
        subscriber_id=subscriber_id,
        creator_id=plan.creator_id,
        plan_id=plan.id,
        plan_name=plan.name,
        amount=plan.price_amount,
        currency=plan.currency,
        interval=plan.interval,
        period_end=subscription.current_period_end,
    )


async def renewal_terms(session: WriteSession, subscription_id: int) -> CheckoutTerms | None:
    subscription = await repository.get(session, subscription_id)
    if subscription is None:
        return None
    plan = await repository.get_plan(session, subscription.plan_id)
    assert plan is not None
    return CheckoutTerms(
        subscription_id=subscription.id,
        subscriber_id=subscription.subscriber_id,
        creator_id=subscription.creator_id,
        plan_id=plan.id,
        plan_name=plan.name,
        amount=plan.price_amount,
        currency=plan.currency,
        interval=plan.interval,
        period_end=subscription.current_period_end,
    )


async def paid(
    session: WriteSession, subscription_id: int, payment_id: int, *, now: datetime | None = None
) -> str | None:
    """One more period is paid: activate, extend or recover. Returns the transition made."""
    now = now or utcnow()
    subscription = await repository.get(session, subscription_id, for_update=True)
    if subscription is None:
        return None
    plan = await repository.get_plan(session, subscription.plan_id)
    assert plan is not None
    name = payment_transition(subscription.status)
    current_end = subscription.current_period_end
    # A paid period follows the one already paid for; after a lapse it starts now.
    start = current_end if name != "activate" and current_end is not None else now
    end = add_interval(start, plan.interval)
    values: dict[str, object] = {
        "current_period_end": end,
        "period_number": subscription.period_number + 1,
        "renewal_attempt": 0,
        "grace_ends_at": None,
        "reminded_at": None,
        "renew_at": _renew_at(subscription, end),
    }
    if name == "activate":
        values |= {
            "current_period_start": start,
            "cancel_at_period_end": False,
            "canceled_at": None,
        }
        if subscription.cancel_at_period_end:
            values["renew_at"] = end - RENEW_BEFORE if subscription.auto_renew else None
    guards = [Subscription.period_number == subscription.period_number]
    if await repository.transition(
        session, subscription, name, values=values, guards=guards, payment_id=payment_id
    ):
        return name
    return None


async def renewal_failed(
    session: WriteSession,
    subscription_id: int,
    payment_id: int,
    settings: Settings,
    *,
    now: datetime | None = None,
) -> bool:
    """A renewal charge failed: past_due, with access and retries until the grace ends."""
    now = now or utcnow()
    subscription = await repository.get(session, subscription_id, for_update=True)
    if subscription is None:
        return False
    grace = subscription.grace_ends_at or (subscription.current_period_end or now) + timedelta(
        days=settings.subscription_grace_days
    )
    retry = now + timedelta(hours=settings.renewal_retry_hours)
    renew_at = retry if retry < grace and not subscription.cancel_at_period_end else None
    return await repository.transition(
        session,
        subscription,
        "renewal_failed",
        values={"grace_ends_at": grace, "renew_at": renew_at},
        payment_id=payment_id,
    )


async def set_auto_renew(session: WriteSession, subscription_id: int, enabled: bool) -> bool:
    """The agreement was signed (renewals may charge it) or withdrawn (they may not)."""
    subscription = await repository.get(session, subscription_id, for_update=True)
    if subscription is None or subscription.auto_renew == enabled:
        return False
    if enabled:
        end = subscription.current_period_end
        renew_at = (
            end - RENEW_BEFORE
            if subscription.status in ("active", "past_due")
            and end is not None
            and not subscription.cancel_at_period_end
            else None
        )
        event, values = "auto_renew_enabled", {"auto_renew": True, "renew_at": renew_at}
    else:
        event, values = "auto_renew_disabled", {"auto_renew": False, "renew_at": None}
    return await repository.change_flags(
        session,
        subscription,
        event,
        values=values,
        guards=[Subscription.auto_renew.is_(not enabled)],
    )


async def _own(session: WriteSession, subscription_id: int, user_id: int) -> Subscription:
    subscription = await repository.get(session, subscription_id, for_update=True)
    if subscription is None or subscription.subscriber_id != user_id:
        raise SubscriptionNotFound()
    return subscription


async def cancel(session: WriteSession, subscription_id: int, user_id: int) -> Subscription:
    """Cancel at period end: access lasts until then, nothing renews. Idempotent."""
    subscription = await _own(session, subscription_id, user_id)
    now = utcnow()
    if subscription.status == "active" and not subscription.cancel_at_period_end:
        await repository.change_flags(
            session,
            subscription,
            "cancel_requested",
            values={"cancel_at_period_end": True, "canceled_at": now, "renew_at": None},
            guards=[Subscription.cancel_at_period_end.is_(False)],
        )
    elif subscription.status == "past_due":
        # The paid period is over already: a canceled past_due subscription ends now.
        await repository.transition(
            session,
            subscription,
            "cancel",
            values={"cancel_at_period_end": True, "canceled_at": now, "renew_at": None},
        )
    elif subscription.status not in ("active", "canceled"):
        raise SubscriptionStateConflict("Only an active subscription can be canceled.")
    return await _fresh(session, subscription_id)


async def resume(session: WriteSession, subscription_id: int, user_id: int) -> Subscription:
    """Undo a cancellation before the period ends. Idempotent."""
    subscription = await _own(session, subscription_id, user_id)
    now = utcnow()
    end = subscription.current_period_end
    if subscription.status != "active" or end is None or end <= now:
        raise SubscriptionStateConflict(
            "Only an active subscription can be resumed; after its end, check out again."
        )
    if subscription.cancel_at_period_end:
        renew_at = end - RENEW_BEFORE if subscription.auto_renew else None
        await repository.change_flags(
            session,
            subscription,
            "resumed",
            values={"cancel_at_period_end": False, "canceled_at": None, "renew_at": renew_at},
            guards=[
                Subscription.cancel_at_period_end.is_(True),
                Subscription.current_period_end > now,
            ],
        )
    return await _fresh(session, subscription_id)


async def _fresh(session: WriteSession, subscription_id: int) -> Subscription:
    subscription = await repository.get(session, subscription_id)
    assert subscription is not None
    return subscription


async def end_periods(
    session: WriteSession, settings: Settings, *, now: datetime | None = None, limit: int = 200
) -> int:
    """The period-end sweep: canceled-at-end and fixed-term subscriptions whose period is over
    end; an auto-renewing one whose renewal has not been paid by then goes past_due; a past_due
    one whose grace is over expires. Returns how many rows changed."""
    now = now or utcnow()
    changed = 0
    for subscription in await repository.period_ended(session, now, limit):
        values: dict[str, object]
        if subscription.status == "past_due":
            name, values = "expire", {"renew_at": None}
        elif subscription.cancel_at_period_end:
            name, values = "end_canceled", {"renew_at": None}
        elif not subscription.auto_renew:
            name, values = "end", {}
        else:
            end = subscription.current_period_end or now
            grace = end + timedelta(days=settings.subscription_grace_days)
            name, values = "overdue", {"grace_ends_at": grace}
        if await repository.transition(session, subscription, name, values=values):
            changed += 1
    return changed
