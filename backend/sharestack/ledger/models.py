"""The ledger's four tables. Accounts carry a cached balance; journals, transfers and entries are
append-only: never updated, never deleted (a correction is a reversal, see ``posting``).

Sign convention: an entry is ``+amount`` on the credited account and ``-amount`` on the debited
one, and an account's balance is the sum of its entries. Positive means the platform owes the
account's owner (a creator's pending, available and in-transit money, the platform's fee revenue);
negative means money held elsewhere that is owed to us (a provider's clearing account after a
capture), or an expense (processor fees). Every transfer sums to zero, so all balances of one
currency always add up to zero.
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
    UTCDateTime,
    closed_set,
    utcnow,
)

# Accounts owned by a creator (owner_id = the creator's user id).
CREATOR_KINDS = ("creator_pending", "creator_available", "creator_in_transit")
# One per provider and currency (provider = the payment provider's name).
PROVIDER_KINDS = ("provider_clearing",)
# The platform's own accounts, one per currency (owner_id = 0, provider = '').
PLATFORM_KINDS = ("platform_fee_revenue", "processor_fees", "payout_clearing")
ACCOUNT_KINDS = CREATOR_KINDS + PROVIDER_KINDS + PLATFORM_KINDS

JOURNAL_KINDS = (
    "payment",
    "hold_release",
    "refund",
    "payout_request",
    "payout_settlement",
    "payout_reversal",
    "reversal",
)
TRANSFER_KINDS = (
    "payment_captured",
    "platform_fee",
    "processor_fee",
    "hold_released",
    "refund",
    "fee_refunded",
    "payout_requested",
    "payout_settled",
    "payout_reversed",
    "reversal",
)

# owner_id of the platform's and the providers' accounts.
PLATFORM_OWNER = 0


def _quoted(kinds: tuple[str, ...]) -> str:
    return ", ".join(f"'{k}'" for k in kinds)


class LedgerAccount(Base):
    """One balance: (owner, kind, provider, currency) is unique.

    ``owner_id`` is NOT NULL, with 0 for the platform's and the providers' accounts, because a
    unique index treats NULLs as distinct on MySQL and MariaDB: with a nullable owner two
    ``platform_fee_revenue``/CNY rows could coexist. The price is no foreign key to ``users``
    (0 is nobody); the CHECK below ties the owner and provider columns to the kind instead, and
    the rows that create money for a creator (payments, payouts) reference the user themselves.
    ``balance`` and ``version`` are caches of the account's entries, changed only by
    ``posting.post_journal`` under ``SELECT ... FOR UPDATE``; BIGINT versions, because a platform
    account takes an entry for every payment.
    """

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        # Leads with owner_id: also serves "every account of this creator" (balances, pages).
        sa.UniqueConstraint("owner_id", "kind", "provider", "currency"),
        sa.CheckConstraint("version >= 0", name="version_nonnegative"),
        sa.CheckConstraint(
            f"(kind IN ({_quoted(CREATOR_KINDS)}) AND owner_id > 0 AND provider = '')"
            f" OR (kind IN ({_quoted(PROVIDER_KINDS)}) AND owner_id = 0 AND provider <> '')"
            f" OR (kind IN ({_quoted(PLATFORM_KINDS)}) AND owner_id = 0 AND provider = '')",
            name="owner_matches_kind",
        ),
        TABLE_OPTIONS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(
        closed_set(*ACCOUNT_KINDS, name="kind", length=24), nullable=False
    )
    owner_id: Mapped[int] = mapped_column(BigInt, nullable=False, default=PLATFORM_OWNER)
    provider: Mapped[str] = mapped_column(sa.String(32), nullable=False, default="")
    currency: Mapped[str] = mapped_column(sa.CHAR(3), nullable=False)
    balance: Mapped[int] = mapped_column(BigInt, nullable=False, default=0)
    version: Mapped[int] = mapped_column(BigInt, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class LedgerJournal(Base):
    """A set of transfers posted together (one business event: a payment, a refund, a payout).

    ``journal_key`` is the idempotency key of the whole journal ("payment:42"): the one unique row
    that two concurrent postings of the same event race for (see ``posting.post_journal``).
    """

    __tablename__ = "ledger_journals"
    __table_args__ = (
        # "The journals of payment 42"; the hold release sweep's NOT EXISTS probe.
        sa.Index(
            "ix_ledger_journals_reference_type_reference_id_kind",
            "reference_type",
            "reference_id",
            "kind",
        ),
        # The hold release sweep: payment journals older than the hold period.
        sa.Index("ix_ledger_journals_kind_created_at", "kind", "created_at"),
        # Reconciliation: the journals of the order and refund numbers on a provider statement.
        sa.Index("ix_ledger_journals_external_reference", "external_reference"),
        TABLE_OPTIONS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    journal_key: Mapped[str] = mapped_column(sa.String(128), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(
        closed_set(*JOURNAL_KINDS, name="kind", length=24), nullable=False
    )
    reference_type: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    reference_id: Mapped[int] = mapped_column(BigInt, nullable=False)
    # The number the provider knows the event by (a payment's out_trade_no, a refund's
    # out_refund_no): what its statement lists, so what reconciliation matches on.
    external_reference: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class LedgerTransfer(Base):
    """Moves a positive ``amount`` of one currency from the debit to the credit account.

    ``reverses_transfer_id`` is unique: a transfer is reversed at most once (the reversal swaps
    debit and credit, same amount). The reference is copied from the journal.
    """

    __tablename__ = "ledger_transfers"
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("debit_account_id <> credit_account_id", name="distinct_accounts"),
        sa.Index(
            "ix_ledger_transfers_reference_type_reference_id", "reference_type", "reference_id"
        ),
        TABLE_OPTIONS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    journal_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ledger_journals.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(
        closed_set(*TRANSFER_KINDS, name="kind", length=24), nullable=False
    )
    debit_account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ledger_accounts.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    credit_account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ledger_accounts.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    currency: Mapped[str] = mapped_column(sa.CHAR(3), nullable=False)
    amount: Mapped[int] = mapped_column(BigInt, nullable=False)
    reference_type: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    reference_id: Mapped[int] = mapped_column(BigInt, nullable=False)
    transfer_key: Mapped[str] = mapped_column(sa.String(160), unique=True, nullable=False)
    # No foreign key: InnoDB checks a self-reference row by row, so one DELETE of the whole
    # table (the test suite's cleanup) would trip over it. posting.reverse_transfer resolves
    # the original before writing.
    reverses_transfer_id: Mapped[int | None] = mapped_column(BigInt, unique=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class LedgerEntry(Base):
    """One side of a transfer on one account: signed ``amount`` (credit +, debit -), the
    account's running ``balance_after`` and its ``account_version`` after this entry (1, 2, 3,
    ... per account, unique: two writers can never both append version n)."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "account_version"),
        # Exactly one entry per account and transfer; also the transfer_id foreign key's index.
        sa.UniqueConstraint("transfer_id", "account_id"),
        # An account's entries newest first, in keyset pages by id.
        sa.Index("ix_ledger_entries_account_id_id", "account_id", "id"),
        sa.CheckConstraint("amount <> 0", name="amount_nonzero"),
        sa.CheckConstraint("account_version > 0", name="account_version_positive"),
        TABLE_OPTIONS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ledger_accounts.id", ondelete="RESTRICT"), nullable=False
    )
    transfer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ledger_transfers.id", ondelete="RESTRICT"), nullable=False
    )
    currency: Mapped[str] = mapped_column(sa.CHAR(3), nullable=False)
    amount: Mapped[int] = mapped_column(BigInt, nullable=False)
    balance_after: Mapped[int] = mapped_column(BigInt, nullable=False)
    account_version: Mapped[int] = mapped_column(BigInt, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
