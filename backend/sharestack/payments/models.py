"""Payments (money in). Their API lands with billing; payouts (money out) are in
``sharestack.payouts``.

Amounts are BIGINT minor units (fen) with an ISO 4217 currency. ``idempotency_key`` is unique:
a client or webhook retry that repeats a key finds the first payment instead of charging twice.
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

PAYMENT_STATUSES = ("pending", "succeeded", "failed", "refunded")


class Payment(TimestampMixin, Base):
    __tablename__ = "payments"
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.Index("ix_payments_user_id_created_at", "user_id", "created_at"),
        TABLE_OPTIONS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False
    )
    subscription_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("subscriptions.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    amount: Mapped[int] = mapped_column(BigInt, nullable=False)
    currency: Mapped[str] = mapped_column(sa.String(3), nullable=False)
    status: Mapped[str] = mapped_column(
        closed_set(*PAYMENT_STATUSES, name="status"), nullable=False, default="pending"
    )
    provider: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    provider_ref: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    idempotency_key: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
