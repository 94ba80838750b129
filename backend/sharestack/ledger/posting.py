"""Posting journals: the one place that writes transfers and entries and moves balances.

Locking. Every posting locks the accounts it touches with ``SELECT ... FOR UPDATE`` in ascending
id order before reading a balance, so two postings over the same accounts queue instead of
deadlocking, whatever order their legs name the accounts in. A transaction that posts several
journals (the hold release sweep) locks all their accounts first with :func:`lock_accounts`.
An account that does not exist yet is created after the existing ones are locked, in key order,
and arrives locked (new rows have the highest ids, so the order holds; the one exception is two
first-ever postings creating the same accounts at once, which InnoDB may resolve by rolling one
back: a retryable error, as for any deadlock).

Idempotency. A journal has a key ("payment:42"). Posting a key that exists returns the existing
journal and writes nothing. The key is checked again once the accounts are locked, and its header
row is inserted with ``INSERT IGNORE`` last, after every check passed: a concurrent posting of
the same key either queued on the same account locks (and then finds the journal) or waits on
the header row and finds it once the first transaction commits. Either way one journal exists.

All of it happens in the caller's transaction: nothing here commits.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import sqlalchemy as sa

from sharestack.db.base import utcnow
from sharestack.db.session import WriteSession
from sharestack.ledger import repository
from sharestack.ledger.exceptions import (
    AlreadyReversed,
    JournalConflict,
    JournalNotFound,
    NegativeBalance,
)
from sharestack.ledger.models import LedgerEntry, LedgerJournal, LedgerTransfer
from sharestack.ledger.rules import (
    AccountRef,
    JournalKind,
    Leg,
    TransferKind,
    may_go_negative,
    reversal_leg,
)

MAX_KEY_LENGTH = 128


@dataclass
class LockedAccount:
    id: int
    ref: AccountRef
    balance: int
    version: int


@dataclass(frozen=True)
class Journal:
    id: int
    key: str
    kind: str
    reference_type: str
    reference_id: int
    created_at: datetime
    transfers: tuple[LedgerTransfer, ...]
    # False when the key had been posted before and this is the existing journal.
    created: bool


def _locked(row: repository.AccountRow) -> LockedAccount:
    ref = AccountRef(row.owner_id, row.kind, row.provider, row.currency)
    return LockedAccount(row.id, ref, row.balance, row.version)


async def lock_accounts(
    session: WriteSession, refs: Collection[AccountRef]
) -> dict[AccountRef, LockedAccount]:
    """Lock (creating what is missing) every account named, in the one lock order."""
    wanted = set(refs)
    found = {
        AccountRef(r.owner_id, r.kind, r.provider, r.currency): r.id
        for r in await repository.find_accounts(session, wanted)
    }
    locked = {
        a.ref: a
        for a in map(_locked, await repository.lock_accounts_by_id(session, found.values()))
    }
    missing = sorted(wanted - locked.keys())
    for ref in missing:
        await repository.create_account(session, ref)
    if missing:  # create_account left each of them locked
        for row in await repository.find_accounts(session, missing):
            account = _locked(row)
            locked[account.ref] = account
    if locked.keys() != wanted:  # pragma: no cover - a CHECK constraint refused the row
        raise RuntimeError(f"could not create ledger accounts {sorted(wanted - locked.keys())}")
    return locked


async def load_journal(session: WriteSession, journal: LedgerJournal, created: bool) -> Journal:
    transfers = await repository.journal_transfers(session, journal.id)
    return Journal(
        journal.id,
        journal.journal_key,
        journal.kind,
        journal.reference_type,
        journal.reference_id,
        journal.created_at,
        tuple(transfers),
        created,
    )


async def existing_journal(session: WriteSession, key: str) -> Journal | None:
    journal = await repository.get_journal(session, key)
    return None if journal is None else await load_journal(session, journal, created=False)


def _check_key(key: str) -> None:
    if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isascii():
        raise ValueError(f"a journal key is 1-{MAX_KEY_LENGTH} ASCII characters: {key!r}")


async def post_journal(
    session: WriteSession,
    legs: Sequence[Leg],
    *,
    key: str,
    kind: JournalKind,
    reference_type: str,
    reference_id: int,
    external_reference: str | None = None,
) -> Journal:
    """Post ``legs`` as one journal, or return the journal already posted under ``key``.

    Raises :class:`NegativeBalance` (nothing written) when a leg would take an account below
    zero that its kind does not allow (``rules.may_go_negative``), and
    :class:`JournalConflict` when a concurrent transaction took another unique key first (a
    transfer reversed at once by two journals); both leave the caller's transaction to roll
    back. A journal may have no legs: its header alone records that the event was handled (a
    hold release with nothing left to release).
    """
    _check_key(key)
    if not 0 < len(reference_type) <= 32:
        raise ValueError("reference_type is 1-32 characters")
    if (found := await existing_journal(session, key)) is not None:
        return found
    accounts = await lock_accounts(
        session, {ref for leg in legs for ref in (leg.debit, leg.credit)}
    )
    # Under the locks: a posting of the same key that we queued behind has committed by now.
    if (found := await existing_journal(session, key)) is not None:
        return found

    # Apply the legs in memory first; nothing is written unless every one is allowed.
    entries: list[tuple[int, LockedAccount, int, int, int]] = []  # leg, account, +-amount, after, v
    for index, leg in enumerate(legs):
        for ref, signed in ((leg.debit, -leg.amount), (leg.credit, leg.amount)):
            account = accounts[ref]
            account.balance += signed
            account.version += 1
            if account.balance < 0 and signed < 0 and not may_go_negative(ref.kind, leg.kind):
                raise NegativeBalance(
                    f"{leg.kind} of {leg.amount} would take {ref.kind} to {account.balance}"
                )
            entries.append((index, account, signed, account.balance, account.version))

    now = utcnow()
    if not await repository.claim_journal_key(
        session, key, kind, reference_type, reference_id, now, external_reference
    ):
        # A posting of the same key over other accounts committed while we checked.
        found = await existing_journal(session, key)
        assert found is not None
        return found
    journal = await repository.get_journal(session, key)
    assert journal is not None
    transfers = [
        LedgerTransfer(
            journal_id=journal.id,
            kind=leg.kind,
            debit_account_id=accounts[leg.debit].id,
            credit_account_id=accounts[leg.credit].id,
            currency=leg.currency,
            amount=leg.amount,
            reference_type=reference_type,
            reference_id=reference_id,
            transfer_key=f"{key}/{index}",
            reverses_transfer_id=leg.reverses_transfer_id,
            created_at=now,
        )
        for index, leg in enumerate(legs)
    ]
    try:
        session.add_all(transfers)
        await session.flush()
        session.add_all(
            LedgerEntry(
                account_id=account.id,
                transfer_id=transfers[index].id,
                currency=account.ref.currency,
                amount=signed,
                balance_after=after,
                account_version=version,
                created_at=now,
            )
            for index, account, signed, after, version in entries
        )
        await session.flush()
    except sa.exc.IntegrityError as exc:
        raise JournalConflict() from exc
    for account in {a.id: a for _, a, *_ in entries}.values():
        touched = sum(1 for _, a, *_ in entries if a is account)
        await repository.update_account(
            session, account.id, account.balance, account.version, account.version - touched
        )
    return Journal(journal.id, key, kind, reference_type, reference_id, now, tuple(transfers), True)


async def reverse_journal(session: WriteSession, journal_key: str, *, key: str) -> Journal:
    """Correct a journal posted in error: one ``reversal`` transfer per transfer, debit and credit
    swapped. A transfer is reversed at most once (``reverses_transfer_id`` is unique); the
    negative-balance rule applies, so money that moved on (a released hold, a payout) must be
    corrected by the flow that moves it back (a refund, a payout reversal), not here."""
    original = await repository.get_journal(session, journal_key)
    if original is None:
        raise JournalNotFound()
    transfers = await repository.journal_transfers(session, original.id)
    refs = await repository.accounts_by_id(
        session, {i for t in transfers for i in (t.debit_account_id, t.credit_account_id)}
    )
    await lock_accounts(session, refs.values())
    if (found := await existing_journal(session, key)) is not None:
        return found
    if await repository.any_reversed(session, [t.id for t in transfers]):
        raise AlreadyReversed()
    legs = [
        reversal_leg(
            Leg(
                cast(TransferKind, t.kind),
                refs[t.debit_account_id],
                refs[t.credit_account_id],
                t.amount,
            ),
            t.id,
        )
        # Last first, so that no running balance dips on the way (a fee leaves pending only
        # after the capture filled it).
        for t in reversed(transfers)
    ]
    return await post_journal(
        session,
        legs,
        key=key,
        kind="reversal",
        reference_type=original.reference_type,
        reference_id=original.reference_id,
    )
