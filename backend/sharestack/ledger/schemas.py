from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class CreatorBalance(BaseModel):
    """One currency of a creator's money, in minor units. ``available`` may be negative after a
    refund of money already paid out."""

    pending: int = 0
    available: int = 0
    in_transit: int = 0


class LedgerEntryRead(BaseModel):
    id: int
    account_kind: str
    currency: str
    # Credit +, debit -: what this entry did to the account's balance.
    amount: int
    balance_after: int
    transfer_kind: str
    reference_type: str
    reference_id: int
    created_at: datetime


class LedgerEntryPage(BaseModel):
    items: list[LedgerEntryRead]
    next_cursor: str | None
