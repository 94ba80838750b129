"""Reads of the ledger for reports: a creator's monthly statement, and the ledger's side of a
provider's daily statement (reconciliation). Both take a ``ReadSession``: they report on
committed history and may run on a replica.

The ledger's side of a provider statement, per item:

- a payment: the ``payment:{payment_id}`` journal, its ``payment_captured`` amount (the gross the
  provider collected), when its debit account is that provider's clearing account;
- a refund: the ``refund:{refund_id}`` journal, the sum of its transfers into that provider's
  clearing account (the creator's share and the returned fee: what the provider paid back).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa

from sharestack.db.session import ReadSession
from sharestack.ledger import repository
from sharestack.ledger.models import LedgerAccount, LedgerEntry, LedgerJournal, LedgerTransfer

_CHUNK = 1000
ItemKind = Literal["payment", "refund"]


@dataclass(frozen=True)
class LedgerItem:
    kind: ItemKind
    payment_id: int
    refund_id: int | None
    currency: str
    amount: int
    created_at: datetime
    # The provider's number for it (``ledger_journals.external_reference``); a journal posted
    # without one is named by its journal key, so that it can only ever show as a mismatch.
    reference: str

    @property
    def key(self) -> tuple[ItemKind, str]:
        return (self.kind, self.reference)


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


_Payment = sa.Row[int, str | None, str, int, datetime]
_Refund = sa.Row[str, int, str | None, str, int, datetime]


def _payments_query(provider: str) -> sa.Select[int, str | None, str, int, datetime]:
    return (
        sa.select(
            LedgerJournal.reference_id,
            LedgerJournal.external_reference,
            LedgerTransfer.currency,
            LedgerTransfer.amount,
            LedgerJournal.created_at,
        )
        .join(LedgerTransfer, LedgerTransfer.journal_id == LedgerJournal.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerTransfer.debit_account_id)
        .where(
            LedgerJournal.kind == "payment",
            LedgerTransfer.kind == "payment_captured",
            LedgerAccount.kind == "provider_clearing",
            LedgerAccount.provider == provider,
        )
    )


def _refunds_query(provider: str) -> sa.Select[str, int, str | None, str, int, datetime]:
    return (
        sa.select(
            LedgerJournal.journal_key,
            LedgerJournal.reference_id,
            LedgerJournal.external_reference,
            LedgerTransfer.currency,
            sa.func.sum(LedgerTransfer.amount),
            LedgerJournal.created_at,
        )
        .join(LedgerTransfer, LedgerTransfer.journal_id == LedgerJournal.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerTransfer.credit_account_id)
        .where(
            LedgerJournal.kind == "refund",
            LedgerAccount.kind == "provider_clearing",
            LedgerAccount.provider == provider,
        )
        .group_by(
            LedgerJournal.id,
            LedgerJournal.journal_key,
            LedgerJournal.reference_id,
            LedgerJournal.external_reference,
            LedgerTransfer.currency,
            LedgerJournal.created_at,
        )
    )


def _payment(row: _Payment) -> LedgerItem:
    reference = row[1] or f"payment:{row[0]}"
    return LedgerItem("payment", row[0], None, row[2], int(row[3]), row[4], reference)


def _refund(row: _Refund) -> LedgerItem:
    refund_id = int(row[0].split(":", 1)[1])
    return LedgerItem("refund", row[1], refund_id, row[3], int(row[4]), row[5], row[2] or row[0])


async def provider_items(
    session: ReadSession, provider: str, start: datetime, end: datetime
) -> list[LedgerItem]:
    """Every payment and refund of ``provider`` the ledger recorded in [start, end)
    (``ix_ledger_journals_kind_created_at``, then one transfer lookup per journal)."""
    window = (LedgerJournal.created_at >= start, LedgerJournal.created_at < end)
    payments = await session.execute(_payments_query(provider).where(*window))
    items = [_payment(row) for row in payments]
    refunds = await session.execute(_refunds_query(provider).where(*window))
    return items + [_refund(row) for row in refunds]


async def items_by_reference(
    session: ReadSession,
    provider: str,
    trade_nos: Collection[str],
    refund_nos: Collection[str],
) -> list[LedgerItem]:
    """The ledger's record of these order and refund numbers, whenever it was made (an event
    near midnight may be on the provider's other day; ``ix_ledger_journals_external_reference``)."""
    items: list[LedgerItem] = []
    for chunk in _chunks(sorted(set(trade_nos))):
        rows = await session.execute(
            _payments_query(provider).where(LedgerJournal.external_reference.in_(chunk))
        )
        items.extend(map(_payment, rows))
    for chunk in _chunks(sorted(set(refund_nos))):
        refunds = await session.execute(
            _refunds_query(provider).where(LedgerJournal.external_reference.in_(chunk))
        )
        items.extend(map(_refund, refunds))
    return items


@dataclass(frozen=True)
class StatementRow:
    created_at: datetime
    kind: str  # the transfer kind: payment_captured, platform_fee, refund, payout_settled, ...
    reference_type: str
    reference_id: int
    amount: int  # signed: what it did to the creator's money


@dataclass(frozen=True)
class CreatorStatement:
    currency: str
    opening: int
    rows: list[StatementRow]

    @property
    def closing(self) -> int:
        return self.opening + sum(row.amount for row in self.rows)


async def creator_statement(
    session: ReadSession, creator_id: int, currency: str, start: datetime, end: datetime
) -> CreatorStatement:
    """What the platform owes the creator (pending + available + in transit, one currency)
    over [start, end): the opening balance, then every entry that changed it. Moves between the
    creator's own accounts (a hold released, a payout requested or reversed) change nothing
    and are left out; what remains is money earned (payments, less the platform fee), refunded
    and paid out."""
    accounts = [
        row
        for row in await repository.creator_accounts(session, creator_id)
        if row.currency == currency
    ]
    ids = [row.id for row in accounts]
    if not ids:
        return CreatorStatement(currency, 0, [])
    opening = 0
    for account_id in ids:
        last = await session.execute(
            sa.select(LedgerEntry.balance_after)
            .where(LedgerEntry.account_id == account_id, LedgerEntry.created_at < start)
            .order_by(LedgerEntry.id.desc())
            .limit(1)
        )
        opening += int(last.scalar_one_or_none() or 0)
    query = (
        sa.select(
            LedgerEntry.created_at,
            LedgerEntry.amount,
            LedgerTransfer.kind,
            LedgerTransfer.reference_type,
            LedgerTransfer.reference_id,
            LedgerTransfer.debit_account_id,
            LedgerTransfer.credit_account_id,
        )
        .join(LedgerTransfer, LedgerTransfer.id == LedgerEntry.transfer_id)
        .where(
            LedgerEntry.account_id.in_(ids),
            LedgerEntry.created_at >= start,
            LedgerEntry.created_at < end,
        )
        .order_by(LedgerEntry.id)
    )
    mine = set(ids)
    rows = [
        StatementRow(r.created_at, r.kind, r.reference_type, r.reference_id, r.amount)
        for r in await session.execute(query)
        if not (r.debit_account_id in mine and r.credit_account_id in mine)
    ]
    return CreatorStatement(currency, opening, rows)
