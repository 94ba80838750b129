"""The ledger's queries. Writes and the reads that decide a write take a ``WriteSession`` (money is
read on the primary, under the posting's locks); display reads take a ``ReadSession``."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TypeAlias

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.orm import aliased

from sharestack.db.base import utcnow
from sharestack.db.session import ReadSession, WriteSession
from sharestack.ledger.models import (
    CREATOR_KINDS,
    LedgerAccount,
    LedgerEntry,
    LedgerJournal,
    LedgerTransfer,
)
from sharestack.ledger.rules import AccountRef

PAGE_INDEX = "ix_ledger_entries_account_id_id"
# id, owner_id, kind, provider, currency, balance, version
AccountRow: TypeAlias = "sa.Row[int, int, str, str, str, int, int]"
ACCOUNT_COLUMNS = (
    LedgerAccount.id,
    LedgerAccount.owner_id,
    LedgerAccount.kind,
    LedgerAccount.provider,
    LedgerAccount.currency,
    LedgerAccount.balance,
    LedgerAccount.version,
)


def _is_mysql(session: ReadSession) -> bool:
    return session.get_bind().dialect.name in ("mysql", "mariadb")


def _matches(refs: Collection[AccountRef]) -> sa.ColumnElement[bool]:
    return sa.or_(
        *(
            sa.and_(
                LedgerAccount.owner_id == r.owner_id,
                LedgerAccount.kind == r.kind,
                LedgerAccount.provider == r.provider,
                LedgerAccount.currency == r.currency,
            )
            for r in refs
        )
    )


async def find_accounts(session: ReadSession, refs: Collection[AccountRef]) -> Sequence[AccountRow]:
    """Without locking: which of these accounts exist, and their ids. Also how the creator of a
    missing account reads it back: a locking read here (an OR of unique keys may scan the
    primary key) would wait on the provisional row of a concurrent creator that is itself
    waiting for ours, a deadlock; a plain read waits for nothing, and sees the latest version
    of a row whose lock we hold."""
    if not refs:
        return []
    return (await session.execute(sa.select(*ACCOUNT_COLUMNS).where(_matches(refs)))).all()


async def lock_accounts_by_id(session: WriteSession, ids: Collection[int]) -> Sequence[AccountRow]:
    """``SELECT ... FOR UPDATE`` in ascending id order (the primary key range is scanned in that
    order), the one lock order every posting uses."""
    if not ids:
        return []
    query = (
        sa.select(*ACCOUNT_COLUMNS)
        .where(LedgerAccount.id.in_(sorted(ids)))
        .order_by(LedgerAccount.id)
        .with_for_update()
    )
    return (await session.execute(query)).all()


async def create_account(session: WriteSession, ref: AccountRef) -> None:
    """Insert the account unless it exists; either way this transaction then holds its row lock
    and reads it with :func:`find_accounts`. On MySQL ``ON DUPLICATE KEY UPDATE id = id`` takes
    the row's exclusive lock directly: with ``INSERT IGNORE`` two losers of the race would each
    hold a shared lock and deadlock upgrading it in ``SELECT ... FOR UPDATE``."""
    values = {
        "owner_id": ref.owner_id,
        "kind": ref.kind,
        "provider": ref.provider,
        "currency": ref.currency,
        "balance": 0,
        "version": 0,
        "created_at": utcnow(),
    }
    if _is_mysql(session):
        insert = mysql.insert(LedgerAccount).values(values)
        await session.execute(insert.on_duplicate_key_update(id=LedgerAccount.id))
    else:
        await session.execute(sqlite.insert(LedgerAccount).values(values).on_conflict_do_nothing())


async def update_account(
    session: WriteSession, account_id: int, balance: int, version: int, expected_version: int
) -> None:
    result = await session.execute(
        sa.update(LedgerAccount)
        .where(LedgerAccount.id == account_id, LedgerAccount.version == expected_version)
        .values(balance=balance, version=version)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        # Cannot happen while every writer holds the row lock; fail loudly if it ever does.
        raise RuntimeError(f"ledger account {account_id} changed under its lock")


async def claim_journal_key(
    session: WriteSession,
    key: str,
    kind: str,
    reference_type: str,
    reference_id: int,
    now: datetime,
    external_reference: str | None = None,
) -> bool:
    """Insert the journal's header row; False when the key exists already. A concurrent
    uncommitted insert of the same key makes this wait for that transaction: False after it
    commits, True (ours) after it rolls back. ``INSERT IGNORE`` (the values are validated
    before, so only the duplicate key is ignored) reports 0 rows for a duplicate, whatever the
    connection's found-rows flag."""
    values = {
        "journal_key": key,
        "kind": kind,
        "reference_type": reference_type,
        "reference_id": reference_id,
        "external_reference": external_reference,
        "created_at": now,
    }
    if _is_mysql(session):
        insert = sa.insert(LedgerJournal).values(values).prefix_with("IGNORE")
    else:
        insert = sqlite.insert(LedgerJournal).values(values).on_conflict_do_nothing()
    result = await session.execute(insert)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def get_journal(session: ReadSession, key: str) -> LedgerJournal | None:
    query = sa.select(LedgerJournal).where(LedgerJournal.journal_key == key)
    return (await session.execute(query)).scalar_one_or_none()


async def get_journal_by_id(session: ReadSession, journal_id: int) -> LedgerJournal | None:
    return await session.get(LedgerJournal, journal_id)


async def journal_transfers(session: ReadSession, journal_id: int) -> Sequence[LedgerTransfer]:
    query = (
        sa.select(LedgerTransfer)
        .where(LedgerTransfer.journal_id == journal_id)
        .order_by(LedgerTransfer.id)
    )
    return (await session.execute(query)).scalars().all()


async def transfers_for(
    session: ReadSession, reference_type: str, reference_ids: Collection[int]
) -> Sequence[LedgerTransfer]:
    """Every transfer about these payments (or payouts), oldest first."""
    if not reference_ids:
        return []
    query = (
        sa.select(LedgerTransfer)
        .where(
            LedgerTransfer.reference_type == reference_type,
            LedgerTransfer.reference_id.in_(sorted(reference_ids)),
        )
        .order_by(LedgerTransfer.id)
    )
    return (await session.execute(query)).scalars().all()


async def accounts_by_id(session: ReadSession, ids: Collection[int]) -> dict[int, AccountRef]:
    if not ids:
        return {}
    rows = (
        await session.execute(sa.select(*ACCOUNT_COLUMNS).where(LedgerAccount.id.in_(ids)))
    ).all()
    return {r.id: AccountRef(r.owner_id, r.kind, r.provider, r.currency) for r in rows}


async def claim_due_payments(
    session: WriteSession, cutoff: datetime, limit: int
) -> Sequence[LedgerJournal]:
    """Payment journals recorded at or before ``cutoff`` whose hold is not released, oldest
    first, locked with ``SKIP LOCKED``: concurrent sweeps split the due payments between them
    instead of queueing on the same rows (SQLite has one writer and ignores the clause).

    The NOT EXISTS probe visits every payment older than the cutoff, one index lookup each;
    past a few million payments, start the scan at a watermark."""
    payment = aliased(LedgerJournal, name="payment")
    released = (
        sa.select(sa.literal(1))
        .select_from(LedgerJournal)
        .where(
            LedgerJournal.reference_type == "payment",
            LedgerJournal.reference_id == payment.reference_id,
            LedgerJournal.kind == "hold_release",
        )
    )
    query = (
        sa.select(payment)
        .where(payment.kind == "payment", payment.created_at <= cutoff, ~released.exists())
        .order_by(payment.created_at, payment.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.execute(query)).scalars().all()


async def creator_accounts(session: ReadSession, creator_id: int) -> Sequence[AccountRow]:
    query = sa.select(*ACCOUNT_COLUMNS).where(
        LedgerAccount.owner_id == creator_id, LedgerAccount.kind.in_(CREATOR_KINDS)
    )
    return (await session.execute(query)).all()


async def entries_page(
    session: ReadSession, account_ids: Collection[int], before_id: int | None, limit: int
) -> Sequence[sa.Row[LedgerEntry, str, str, int]]:
    """The newest ``limit`` entries of these accounts with id < ``before_id``, with their
    transfer. One index range per account (``ix_ledger_entries_account_id_id``, read backwards,
    no sort), merged by a UNION ALL of at most ``limit`` rows each: a single ``account_id IN
    (...) ORDER BY id`` would sort every entry of the creator. The index is forced: the
    optimizer otherwise prefers the covering (account_id, account_version) unique index and
    sorts the whole account, which is cheap for a new account and not for a busy one."""
    if not account_ids:
        return []
    ranges = []
    for account_id in sorted(account_ids):
        one = sa.select(LedgerEntry.id).where(LedgerEntry.account_id == account_id)
        for dialect in ("mysql", "mariadb"):
            one = one.with_hint(LedgerEntry, f"FORCE INDEX ({PAGE_INDEX})", dialect_name=dialect)
        if before_id is not None:
            one = one.where(LedgerEntry.id < before_id)
        inner = one.order_by(LedgerEntry.id.desc()).limit(limit).subquery()
        ranges.append(sa.select(inner.c.id))
    page = sa.union_all(*ranges).subquery("page")
    query = (
        sa.select(
            LedgerEntry,
            LedgerTransfer.kind.label("transfer_kind"),
            LedgerTransfer.reference_type,
            LedgerTransfer.reference_id,
        )
        .select_from(page)
        .join(LedgerEntry, LedgerEntry.id == page.c.id)
        .join(LedgerTransfer, LedgerTransfer.id == LedgerEntry.transfer_id)
        .order_by(page.c.id.desc())
        .limit(limit)
    )
    return (await session.execute(query)).all()


async def any_reversed(session: ReadSession, transfer_ids: Collection[int]) -> bool:
    if not transfer_ids:
        return False
    query = sa.select(LedgerTransfer.id).where(
        LedgerTransfer.reverses_transfer_id.in_(sorted(transfer_ids))
    )
    return (await session.execute(query.limit(1))).first() is not None
