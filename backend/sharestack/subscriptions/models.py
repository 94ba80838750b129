"""Plans, subscriptions and the subscription event log.

A subscription's status is a closed set whose transitions are listed in ``states.py``. ``active``
and ``trialing`` grant access until ``current_period_end``; ``past_due`` (a renewal charge
failed) keeps access until ``grace_ends_at``; ``canceled`` (the reader canceled, effective at
period end), ``expired`` and ``incomplete`` (first payment never succeeded) grant none.

Plans are never deleted and never change price: a price change makes a new plan row
(``previous_id`` points at the version it replaced) and archives the old one, so existing
subscribers keep renewing at the price they signed up for.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from sharestack.db.base import (
    TABLE_OPTIONS,
    Base,
    BigInt,
    BigIntPK,
    TimestampMixin,
    UTCDateTime,
    closed_set,
    utcnow,
)

SUBSCRIPTION_STATUSES = ("incomplete", "trialing", "active", "past_due", "canceled", "expired")
ACCESS_STATUSES = ("trialing", "active", "past_due")
BILLING_INTERVALS = ("month", "year")


class SubscriptionPlan(TimestampMixin, Base):
    __tablename__ = "subscription_plans"
    __table_args__ = (
        sa.CheckConstraint("price_amount >= 0", name="price_amount_nonnegative"),
        sa.Index("ix_subscription_plans_creator_id_is_active", "creator_id", "is_active"),
        TABLE_OPTIONS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    creator_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False
    )
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    description: Mapped[str] = mapped_column(sa.String(1000), nullable=False, default="")
    # Money is integer minor units (fen for CNY) with its ISO 4217 currency; never floats.
    price_amount: Mapped[int] = mapped_column(BigInt, nullable=False)
    currency: Mapped[str] = mapped_column(sa.String(3), nullable=False, default="CNY")
    interval: Mapped[str] = mapped_column(
        closed_set(*BILLING_INTERVALS, name="interval"), nullable=False
    )
    is_active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    # The version this plan replaced (a price or interval change), if any. SET NULL, not
    # RESTRICT: plans are never deleted, and a self-reference that restricts would keep a bulk
    # DELETE (a test's clean-up, an operator's purge) from ever succeeding on MySQL.
    previous_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("subscription_plans.id", ondelete="SET NULL"), nullable=True, index=True
    )


class Subscription(TimestampMixin, Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        # A reader's active subscriptions; also "is this reader subscribed to this creator".
        sa.Index("ix_subscriptions_reader_active", "subscriber_id", "status", "current_period_end"),
        sa.Index("ix_subscriptions_creator_id_status", "creator_id", "status"),
        # One subscription per reader and plan: a new checkout extends it. Plan first, so that
        # reads by reader keep using ix_subscriptions_reader_active.
        sa.UniqueConstraint("plan_id", "subscriber_id"),
        # The renewal job's scan: due rows, soonest first.
        sa.Index("ix_subscriptions_renew_at", "renew_at"),
        # The period-end sweep: rows whose paid period is over.
        sa.Index("ix_subscriptions_status_current_period_end", "status", "current_period_end"),
        TABLE_OPTIONS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    subscriber_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False
    )
    plan_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subscription_plans.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    # Copied from the plan so that access checks need no join.
    creator_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False
    )
    status: Mapped[str] = mapped_column(
        closed_set(*SUBSCRIPTION_STATUSES, name="status"), nullable=False, default="incomplete"
    )
    current_period_start: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    current_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cancel_at_period_end: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Renewal through a signed agreement (payment_agreements); False: a fixed term.
    auto_renew: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    # Periods paid so far; a renewal charges period_number + 1 (its order number says so).
    period_number: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    # Charge attempts for the next period; reset when a period is paid.
    renewal_attempt: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    # When the next renewal attempt is due; NULL when none is (fixed term, or one in flight).
    renew_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # past_due only: access lasts until then, and renewals are retried until then.
    grace_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The end-of-term reminder for the current period was sent (reset by a new period).
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SubscriptionEvent(Base):
    """Append-only: one row per state change (and per cancel/resume request), written in the
    transaction that made the change, so the history and the row never disagree."""

    __tablename__ = "subscription_events"
    __table_args__ = (
        sa.Index("ix_subscription_events_subscription_id_id", "subscription_id", "id"),
        TABLE_OPTIONS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subscriptions.id", ondelete="CASCADE"), nullable=False
    )
    event: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    from_status: Mapped[str] = mapped_column(
        closed_set(*SUBSCRIPTION_STATUSES, name="from_status"), nullable=False
    )
    to_status: Mapped[str] = mapped_column(
        closed_set(*SUBSCRIPTION_STATUSES, name="to_status"), nullable=False
    )
    # The payment that caused it, if one did (no foreign key: payments is another domain's).
    payment_id: Mapped[int | None] = mapped_column(BigInt, nullable=True)
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
