"""Payouts: where a creator is paid (``payout_accounts``), each payout and its transfer state
(``payouts``), the idempotency records of payout requests (``payout_idempotency_keys``) and the
daily reconciliation of provider statements with the ledger (``reconciliation_runs``,
``reconciliation_mismatches``).

The money itself is in the ledger (``sharestack.ledger``): a payout row says what was asked and
where its transfer stands; the journals ``payout:{id}``, ``payout:{id}:settled`` and
``payout:{id}:reversed`` say where the money is.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from sharestack.db.base import (
    TABLE_OPTIONS,
    Base,
    BigInt,
    BigIntPK,
    ExactString,
    TimestampMixin,
    UTCDateTime,
    closed_set,
    utcnow,
)

PAYOUT_PROVIDERS = ("wechatpay", "alipay", "sandbox")
IDENTITY_TYPES = ("openid", "alipay_user_id", "alipay_logon_id", "sandbox")
# pending: requested, not yet accepted by the provider (or its answer was unclear)
# in_transit: the provider has it (processing, or waiting for the payee to confirm)
# paid: settled in the ledger; failed / cancelled: reversed in the ledger (money available again)
PAYOUT_STATUSES = ("pending", "in_transit", "paid", "failed", "cancelled")
FINAL_PAYOUT_STATUSES = ("paid", "failed", "cancelled")
MISMATCH_KINDS = ("missing_in_ledger", "missing_in_statement", "amount_mismatch")
ITEM_KINDS = ("payment", "refund")


class PayoutAccount(TimestampMixin, Base):
    """A creator's WeChat (openid) or Alipay account. The real name is what the providers check
    the account holder against (WeChat Pay from 2,000 yuan, Alipay for every logon id). It is
    stored sealed (``sharestack.sealing``, bound to the creator: ``rules.name_context``) and,
    for display, masked (``rules.mask_name``); only the sending job opens it."""

    __tablename__ = "payout_accounts"
    __table_args__ = (
        sa.UniqueConstraint("creator_id", "provider", "identity"),
        TABLE_OPTIONS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    creator_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False
    )
    provider: Mapped[str] = mapped_column(
        closed_set(*PAYOUT_PROVIDERS, name="provider"), nullable=False
    )
    identity_type: Mapped[str] = mapped_column(
        closed_set(*IDENTITY_TYPES, name="identity_type"), nullable=False
    )
    # Compared byte for byte: openids and Alipay ids are case-sensitive.
    identity: Mapped[str] = mapped_column(ExactString(128), nullable=False)
    real_name_sealed: Mapped[str | None] = mapped_column(sa.String(400), nullable=True)
    real_name_masked: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)


class Payout(TimestampMixin, Base):
    """One payout of a creator's available money to one payout account.

    ``next_attempt_at`` is when the sending job should look at it next (NULL once final): the
    job claims due rows, pushes that time forward as a lease, calls the provider outside any
    transaction, then records the answer. ``attempts`` counts provider calls; after the first,
    every attempt queries before it (re)sends. ``expires_at`` is when an unconfirmed WeChat Pay
    transfer is cancelled. The provider's transfer number is derived from the id
    (``payments.providers.references.transfer_no``), so it never changes between attempts.
    ``idempotency_key`` is a digest of (creator, Idempotency-Key): one payout per key, enforced
    by the database as well as by ``idempotency_records``.
    """

    __tablename__ = "payouts"
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.Index("ix_payouts_creator_id_created_at", "creator_id", "created_at"),
        TABLE_OPTIONS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    creator_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False
    )
    amount: Mapped[int] = mapped_column(BigInt, nullable=False)
    currency: Mapped[str] = mapped_column(sa.String(3), nullable=False)
    status: Mapped[str] = mapped_column(
        closed_set(*PAYOUT_STATUSES, name="status"), nullable=False, default="pending"
    )
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    idempotency_key: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    payout_account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("payout_accounts.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    provider: Mapped[str] = mapped_column(sa.String(32), nullable=False, default="")
    provider_status: Mapped[str] = mapped_column(sa.String(32), nullable=False, default="")
    provider_ref: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    package_info: Mapped[str | None] = mapped_column(sa.String(1024), nullable=True)
    failure_reason: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), nullable=True, index=True
    )
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ReconciliationRun(TimestampMixin, Base):
    """One provider's statement of one day compared with the ledger; a re-run updates it."""

    __tablename__ = "reconciliation_runs"
    __table_args__ = (
        sa.UniqueConstraint("provider", "statement_date"),
        TABLE_OPTIONS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    statement_date: Mapped[date] = mapped_column(sa.Date, nullable=False)
    statement_lines: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    ledger_items: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    mismatches: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)


class ReconciliationMismatch(Base):
    """A difference between a statement and the ledger. ``reference`` is the provider's order
    or refund number as printed; amounts are what each side says (NULL on the missing side).
    ``resolved_at`` is set by an operator, or by a later run that finds the item matched (an
    event near midnight may be on the provider's next day)."""

    __tablename__ = "reconciliation_mismatches"
    __table_args__ = (
        sa.Index("ix_reconciliation_mismatches_provider_resolved_at", "provider", "resolved_at"),
        sa.Index("ix_reconciliation_mismatches_reference", "reference"),
        TABLE_OPTIONS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(
        sa.ForeignKey("reconciliation_runs.id", ondelete="CASCADE"), nullable=False, index=True
    )
    provider: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    kind: Mapped[str] = mapped_column(
        closed_set(*MISMATCH_KINDS, name="kind", length=24), nullable=False
    )
    item_kind: Mapped[str] = mapped_column(
        closed_set(*ITEM_KINDS, name="item_kind"), nullable=False
    )
    reference: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    currency: Mapped[str] = mapped_column(sa.CHAR(3), nullable=False, default="CNY")
    statement_amount: Mapped[int | None] = mapped_column(BigInt, nullable=True)
    ledger_amount: Mapped[int | None] = mapped_column(BigInt, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
