"""Reads of a creator's money (for ``GET /me/balance`` and ``GET /me/ledger``).

The flows that move money live beside this file, by use case: ``earnings`` (payments, holds,
refunds), ``payouts``, and ``posting`` (the journal writer they share); ``invariants`` checks the
whole ledger. Display reads take a ``ReadSession``: a balance a moment stale is fine to show,
while the decisions (a payout request) read under lock on the primary.
"""

from __future__ import annotations

from sharestack.db.session import ReadSession
from sharestack.ledger import repository
from sharestack.ledger.schemas import CreatorBalance, LedgerEntryPage, LedgerEntryRead
from sharestack.pagination import Cursors, Position

_FIELDS = {
    "creator_pending": "pending",
    "creator_available": "available",
    "creator_in_transit": "in_transit",
}


async def balances(session: ReadSession, creator_id: int) -> dict[str, CreatorBalance]:
    """Per currency the creator has ever earned in."""
    result: dict[str, CreatorBalance] = {}
    for row in await repository.creator_accounts(session, creator_id):
        balance = result.setdefault(row.currency, CreatorBalance())
        setattr(balance, _FIELDS[row.kind], row.balance)
    return dict(sorted(result.items()))


async def entries_page(
    session: ReadSession, cursors: Cursors, creator_id: int, cursor: str | None, limit: int
) -> LedgerEntryPage:
    """The creator's entries, newest first, in keyset pages by entry id (every currency and
    account together); ``cursor`` is the previous page's ``next_cursor``."""
    after = cursors.decode_optional(cursor)
    before = after.id if after else None
    accounts = {row.id: row for row in await repository.creator_accounts(session, creator_id)}
    rows = await repository.entries_page(session, accounts, before, limit + 1)
    items = [
        LedgerEntryRead(
            id=row.LedgerEntry.id,
            account_kind=accounts[row.LedgerEntry.account_id].kind,
            currency=row.LedgerEntry.currency,
            amount=row.LedgerEntry.amount,
            balance_after=row.LedgerEntry.balance_after,
            transfer_kind=row.transfer_kind,
            reference_type=row.reference_type,
            reference_id=row.reference_id,
            created_at=row.LedgerEntry.created_at,
        )
        for row in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = cursors.encode(Position(last.created_at, last.id))
    return LedgerEntryPage(items=items, next_cursor=next_cursor)
