"""Plans and subscriptions. Their API lands with billing; the schema is designed for it now.

A subscription's status is a closed set. ``active`` and ``trialing`` grant access until
``current_period_end``; ``past_due`` keeps access during the retry window; ``canceled`` (by the
reader, effective at period end), ``expired`` and ``incomplete`` (first payment never succeeded)
do not.
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


class Subscription(TimestampMixin, Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        # A reader's active subscriptions; also "is this reader subscribed to this creator".
        sa.Index("ix_subscriptions_reader_active", "subscriber_id", "status", "current_period_end"),
        sa.Index("ix_subscriptions_creator_id_status", "creator_id", "status"),
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
