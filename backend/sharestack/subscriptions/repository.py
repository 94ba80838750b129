"""Plans and subscriptions in the database. Writes and every read that decides about money or
access take a ``WriteSession`` (the primary); the public plan list may read a replica."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sharestack.cache import invalidation, keys
from sharestack.db.base import utcnow
from sharestack.db.session import ReadSession, WriteSession
from sharestack.subscriptions.models import (
    ACCESS_STATUSES,
    Subscription,
    SubscriptionEvent,
    SubscriptionPlan,
)
from sharestack.subscriptions.states import FLAG_EVENTS, TRANSITIONS, access_until

RENEWABLE = ("active", "past_due")


# -- plans ---------------------------------------------------------------------------------------


async def get_plan(session: ReadSession, plan_id: int) -> SubscriptionPlan | None:
    return await session.get(SubscriptionPlan, plan_id)


async def plans_for_creator(
    session: ReadSession, creator_id: int, include_archived: bool
) -> Sequence[SubscriptionPlan]:
    query = sa.select(SubscriptionPlan).where(SubscriptionPlan.creator_id == creator_id)
    if not include_archived:
        query = query.where(SubscriptionPlan.is_active.is_(True))
    return (await session.execute(query.order_by(SubscriptionPlan.id))).scalars().all()


async def archive_plan(session: WriteSession, plan_id: int) -> bool:
    """Archive once: False when it already was (a concurrent change got there first)."""
    result = await session.execute(
        sa.update(SubscriptionPlan)
        .where(SubscriptionPlan.id == plan_id, SubscriptionPlan.is_active.is_(True))
        .values(is_active=False, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def add(session: WriteSession, *rows: SubscriptionPlan | Subscription) -> None:
    session.add_all(rows)
    await session.flush()


# -- subscriptions -------------------------------------------------------------------------------


async def get(
    session: ReadSession, subscription_id: int, *, for_update: bool = False
) -> Subscription | None:
    query = sa.select(Subscription).where(Subscription.id == subscription_id)
    if for_update:
        query = query.with_for_update()
    result = await session.execute(query.execution_options(populate_existing=True))
    return result.scalar_one_or_none()


async def ensure(session: WriteSession, subscriber_id: int, plan: SubscriptionPlan) -> Subscription:
    """The reader's subscription to ``plan``, created ``incomplete`` if there is none. INSERT
    IGNORE on the (subscriber_id, plan_id) key: concurrent checkouts of one plan by one reader
    (with different Idempotency-Keys) meet on one row instead of failing."""
    now = utcnow()
    insert = (
        sa.insert(Subscription)
        .prefix_with("IGNORE", dialect="mysql")
        .prefix_with("IGNORE", dialect="mariadb")
        .prefix_with("OR IGNORE", dialect="sqlite")
    )
    await session.execute(
        insert,
        [
            {
                "subscriber_id": subscriber_id,
                "plan_id": plan.id,
                "creator_id": plan.creator_id,
                "status": "incomplete",
                "cancel_at_period_end": False,
                "auto_renew": False,
                "period_number": 0,
                "renewal_attempt": 0,
                "created_at": now,
                "updated_at": now,
            }
        ],
    )
    session.info["wrote"] = True
    query = sa.select(Subscription).where(
        Subscription.subscriber_id == subscriber_id, Subscription.plan_id == plan.id
    )
    return (await session.execute(query)).scalar_one()


async def for_subscriber(session: WriteSession, subscriber_id: int) -> Sequence[Subscription]:
    query = (
        sa.select(Subscription)
        .where(Subscription.subscriber_id == subscriber_id)
        .order_by(Subscription.id.desc())
        .limit(200)
    )
    return (await session.execute(query)).scalars().all()


async def subscribers(
    session: WriteSession, creator_id: int, before_id: int | None, limit: int
) -> Sequence[Subscription]:
    """A creator's subscribers that hold access (active, trialing, past_due), newest first
    (``ix_subscriptions_creator_id_status``)."""
    query = sa.select(Subscription).where(
        Subscription.creator_id == creator_id, Subscription.status.in_(ACCESS_STATUSES)
    )
    if before_id is not None:
        query = query.where(Subscription.id < before_id)
    return (
        (await session.execute(query.order_by(Subscription.id.desc()).limit(limit))).scalars().all()
    )


async def active_for_subscriber(session: ReadSession, subscriber_id: int) -> Sequence[Subscription]:
    """A reader's subscriptions that grant access now, soonest end first
    (``ix_subscriptions_reader_active``). Sorted here, not in SQL: the IN over three statuses
    makes the index order per status, and one reader has a handful of rows."""
    query = sa.select(Subscription).where(
        Subscription.subscriber_id == subscriber_id, Subscription.status.in_(ACCESS_STATUSES)
    )
    now = utcnow()
    granting = [
        (until, s)
        for s in (await session.execute(query)).scalars()
        if (until := access_until(s.status, s.current_period_end, s.grace_ends_at)) is not None
        and until > now
    ]
    return [s for _, s in sorted(granting, key=lambda pair: pair[0])]


async def access_until_by_creator(session: ReadSession, subscriber_id: int) -> dict[int, datetime]:
    """For each creator the reader has access to, the latest moment any of the reader's
    subscriptions to them grants access until, from ``ix_subscriptions_reader_active``."""
    query = sa.select(
        Subscription.creator_id,
        Subscription.status,
        Subscription.current_period_end,
        Subscription.grace_ends_at,
    ).where(
        Subscription.subscriber_id == subscriber_id,
        Subscription.status.in_(ACCESS_STATUSES),
    )
    until: dict[int, datetime] = {}
    for creator_id, status, period_end, grace_end in (await session.execute(query)).all():
        end = access_until(status, period_end, grace_end)
        if end is not None and (creator_id not in until or end > until[creator_id]):
            until[creator_id] = end
    return until


# -- changes -------------------------------------------------------------------------------------


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def note_access_change(session: WriteSession, subscription: Subscription) -> None:
    """The reader's cached entitlements are invalidated after the commit."""
    invalidation.note(session, keys.scope_entitlement(subscription.subscriber_id))


async def transition(
    session: WriteSession,
    subscription: Subscription,
    name: str,
    *,
    values: dict[str, Any] | None = None,
    guards: Sequence[sa.ColumnElement[bool]] = (),
    payment_id: int | None = None,
) -> bool:
    """Apply the named transition (``states.TRANSITIONS``) to the row as it was read:
    ``UPDATE ... WHERE id = ? AND status IN (sources) AND status = <as read> AND guards``, plus
    one ``subscription_events`` row when it matched. False (and nothing written) when the row
    has moved on since it was read."""
    step = TRANSITIONS[name]
    seen = subscription.status
    if seen not in step.sources:
        return False
    changes = dict(values or {})
    result = await session.execute(
        sa.update(Subscription)
        .where(
            Subscription.id == subscription.id,
            Subscription.status.in_(sorted(step.sources)),
            Subscription.status == seen,
            *guards,
        )
        .values(status=step.target, updated_at=utcnow(), **changes)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        return False
    period_end = changes.get("current_period_end", subscription.current_period_end)
    session.add(
        SubscriptionEvent(
            subscription_id=subscription.id,
            event=name,
            from_status=seen,
            to_status=step.target,
            payment_id=payment_id,
            period_end=period_end,
        )
    )
    await session.flush()
    note_access_change(session, subscription)
    return True


async def change_flags(
    session: WriteSession,
    subscription: Subscription,
    event: str,
    *,
    values: dict[str, Any],
    guards: Sequence[sa.ColumnElement[bool]],
) -> bool:
    """A change that keeps the status (cancel at period end, resume, auto-renew on/off), logged
    as an event all the same; conditional like a transition."""
    assert event in FLAG_EVENTS
    result = await session.execute(
        sa.update(Subscription)
        .where(Subscription.id == subscription.id, Subscription.status == subscription.status)
        .where(*guards)
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        return False
    session.add(
        SubscriptionEvent(
            subscription_id=subscription.id,
            event=event,
            from_status=subscription.status,
            to_status=subscription.status,
            period_end=subscription.current_period_end,
        )
    )
    await session.flush()
    note_access_change(session, subscription)
    return True


async def events(session: WriteSession, subscription_id: int) -> Sequence[SubscriptionEvent]:
    query = (
        sa.select(SubscriptionEvent)
        .where(SubscriptionEvent.subscription_id == subscription_id)
        .order_by(SubscriptionEvent.id)
    )
    return (await session.execute(query)).scalars().all()


# -- scans of the periodic jobs -------------------------------------------------------------------


async def lock_due_renewals(
    session: WriteSession, now: datetime, limit: int
) -> Sequence[Subscription]:
    """Due renewals, soonest first, locked; rows another worker holds are skipped
    (``FOR UPDATE SKIP LOCKED``; ``ix_subscriptions_renew_at``). Plans are read apart, unlocked:
    locking them too would make every worker skip every subscription of a popular plan."""
    query = (
        sa.select(Subscription)
        .where(
            Subscription.renew_at <= now,
            Subscription.auto_renew.is_(True),
            Subscription.status.in_(RENEWABLE),
        )
        .order_by(Subscription.renew_at, Subscription.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(query)).scalars().all()


async def claim_renewal(session: WriteSession, subscription: Subscription, now: datetime) -> bool:
    """Take the next attempt: ``renew_at`` goes to NULL (nothing else is due until this attempt
    is settled) and the attempt counter moves on, only if the row is still due as read."""
    result = await session.execute(
        sa.update(Subscription)
        .where(
            Subscription.id == subscription.id,
            Subscription.renew_at.is_not(None),
            Subscription.renew_at <= now,
            Subscription.auto_renew.is_(True),
            Subscription.status.in_(RENEWABLE),
            Subscription.period_number == subscription.period_number,
            Subscription.renewal_attempt == subscription.renewal_attempt,
        )
        .values(renew_at=None, renewal_attempt=Subscription.renewal_attempt + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def plans_by_id(session: WriteSession, plan_ids: set[int]) -> dict[int, SubscriptionPlan]:
    if not plan_ids:
        return {}
    rows = await session.execute(
        sa.select(SubscriptionPlan).where(SubscriptionPlan.id.in_(sorted(plan_ids)))
    )
    return {plan.id: plan for plan in rows.scalars()}


async def period_ended(session: WriteSession, now: datetime, limit: int) -> Sequence[Subscription]:
    """Rows whose paid period (or grace) is over and that still say otherwise
    (``ix_subscriptions_status_current_period_end``)."""
    query = (
        sa.select(Subscription)
        .where(
            sa.or_(
                sa.and_(Subscription.status == "active", Subscription.current_period_end <= now),
                sa.and_(Subscription.status == "past_due", Subscription.grace_ends_at <= now),
            )
        )
        .order_by(Subscription.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(query)).scalars().all()


async def ending_unreminded(
    session: WriteSession, now: datetime, before: datetime, limit: int
) -> Sequence[Subscription]:
    query = (
        sa.select(Subscription)
        .where(
            Subscription.status == "active",
            Subscription.current_period_end > now,
            Subscription.current_period_end <= before,
            Subscription.auto_renew.is_(False),
            Subscription.reminded_at.is_(None),
        )
        .order_by(Subscription.id)
        .limit(limit)
    )
    return (await session.execute(query)).scalars().all()


async def mark_reminded(session: WriteSession, subscription_id: int, now: datetime) -> bool:
    result = await session.execute(
        sa.update(Subscription)
        .where(Subscription.id == subscription_id, Subscription.reminded_at.is_(None))
        .values(reminded_at=now)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1
