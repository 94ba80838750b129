"""Payments (money in), refunds, recurring-charge agreements, provider events and idempotency
records; payouts (money out) are in ``sharestack.payouts``.

Amounts are BIGINT minor units (fen) with an ISO 4217 currency. A payment's status is a closed
set whose transitions are in ``states.py``; refunds are rows of their own (several partial
refunds per payment), and ``payments.refunded_amount`` is their running total, kept by the same
conditional UPDATE that reserves a refund so that concurrent refunds can never exceed the
payment (a CHECK says so too).

``out_trade_no`` is our order number at the provider, derived from what the payment is for (the
idempotency record of a checkout, or subscription + period + attempt of a renewal), so a retry
of the same thing reaches the provider under the same number and can never become a second
charge. ``(provider, provider_ref)`` is unique: one provider transaction is one payment.
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
    LongText,
    TimestampMixin,
    UTCDateTime,
    closed_set,
    utcnow,
)

PAYMENT_STATUSES = ("pending", "succeeded", "failed", "unknown")
PAYMENT_KINDS = ("checkout", "renewal")
REFUND_STATUSES = ("pending", "succeeded", "failed", "unknown")
AGREEMENT_STATUSES = ("pending", "signed", "unsigned")
EVENT_KINDS = ("payment", "refund", "agreement")


class Payment(TimestampMixin, Base):
    __tablename__ = "payments"
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= amount", name="refunded_within_amount"
        ),
        sa.Index("ix_payments_user_id_created_at", "user_id", "created_at"),
        sa.UniqueConstraint("provider", "provider_ref"),
        # The reconciliation job's scan: payments still unsettled, oldest first.
        sa.Index("ix_payments_status_updated_at", "status", "updated_at"),
        TABLE_OPTIONS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False
    )
    subscription_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("subscriptions.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    kind: Mapped[str] = mapped_column(
        closed_set(*PAYMENT_KINDS, name="kind"), nullable=False, default="checkout"
    )
    amount: Mapped[int] = mapped_column(BigInt, nullable=False)
    currency: Mapped[str] = mapped_column(sa.String(3), nullable=False)
    refunded_amount: Mapped[int] = mapped_column(BigInt, nullable=False, default=0)
    status: Mapped[str] = mapped_column(
        closed_set(*PAYMENT_STATUSES, name="status"), nullable=False, default="pending"
    )
    provider: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    provider_ref: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    out_trade_no: Mapped[str] = mapped_column(sa.String(32), unique=True, nullable=False)
    idempotency_key: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Refund(TimestampMixin, Base):
    __tablename__ = "refunds"
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.Index("ix_refunds_payment_id_id", "payment_id", "id"),
        sa.Index("ix_refunds_status_updated_at", "status", "updated_at"),
        TABLE_OPTIONS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    payment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("payments.id", ondelete="RESTRICT"), nullable=False
    )
    requested_by: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    amount: Mapped[int] = mapped_column(BigInt, nullable=False)
    currency: Mapped[str] = mapped_column(sa.String(3), nullable=False)
    status: Mapped[str] = mapped_column(
        closed_set(*REFUND_STATUSES, name="status"), nullable=False, default="pending"
    )
    out_refund_no: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    provider_ref: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    reason: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class PaymentAgreement(TimestampMixin, Base):
    """A recurring-charge agreement (Alipay 周期扣款, the sandbox's): signed by the reader at the
    provider, it lets renewals charge without the reader. ``max_amount`` is the most one charge
    may take (the plan's price when signed)."""

    __tablename__ = "payment_agreements"
    __table_args__ = (
        sa.UniqueConstraint("provider", "agreement_no"),
        sa.Index("ix_payment_agreements_subscription_id_status", "subscription_id", "status"),
        TABLE_OPTIONS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    subscription_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subscriptions.id", ondelete="RESTRICT"), nullable=False
    )
    provider: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    external_agreement_no: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    agreement_no: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    status: Mapped[str] = mapped_column(
        closed_set(*AGREEMENT_STATUSES, name="status"), nullable=False, default="pending"
    )
    max_amount: Mapped[int] = mapped_column(BigInt, nullable=False)
    currency: Mapped[str] = mapped_column(sa.String(3), nullable=False)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ProviderEvent(Base):
    """A verified provider notification, stored raw, once: the unique key makes every
    re-delivery a duplicate. Processing (a job) re-queries the provider and sets
    ``processed_at``."""

    __tablename__ = "provider_events"
    __table_args__ = (
        sa.UniqueConstraint("provider", "event_key"),
        sa.Index("ix_provider_events_processed_at_id", "processed_at", "id"),
        TABLE_OPTIONS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    event_key: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    kind: Mapped[str] = mapped_column(closed_set(*EVENT_KINDS, name="kind"), nullable=False)
    out_trade_no: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    out_refund_no: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    external_agreement_no: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    body: Mapped[str] = mapped_column(LongText, nullable=False)
    outcome: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
