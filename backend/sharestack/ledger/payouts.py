"""Money out: a creator's payout is requested (available -> in transit), then settled (in transit
-> payouts clearing) or reversed (back to available) when the transfer to the creator failed.

Journal keys: ``payout:{payout_id}``, ``payout:{payout_id}:settled``,
``payout:{payout_id}:reversed``, all referencing ``("payout", payout_id)``. Settling and
reversing both lock the creator's in-transit account, so they cannot both happen to one payout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sharestack.db.session import WriteSession
from sharestack.ledger import repository, rules
from sharestack.ledger.exceptions import (
    InsufficientFunds,
    PayoutAlreadyReversed,
    PayoutAlreadySettled,
    PayoutBelowMinimum,
    PayoutNotFound,
)
from sharestack.ledger.posting import Journal, existing_journal, lock_accounts, post_journal
from sharestack.ledger.rules import AccountRef, LedgerPolicy, Leg


async def lock_payout_accounts(session: WriteSession, creator_id: int, currency: str) -> int:
    """Lock (creating them if missing) the creator's available and in-transit accounts, the
    ones ``request_payout`` moves money between, and return the available balance. A caller
    that must decide something else under the same lock (the payouts domain's daily limits)
    takes it first; ``request_payout`` in the same transaction then finds it held. Creating the
    accounts ahead (when a payout account is registered) also spares concurrent first requests
    the race of creating them (see ``posting``)."""
    available = rules.creator("creator_available", creator_id, currency)
    in_transit = rules.creator("creator_in_transit", creator_id, currency)
    locked = await lock_accounts(session, {available, in_transit})
    return locked[available].balance


async def request_payout(
    session: WriteSession,
    creator_id: int,
    currency: str,
    amount: int,
    payout_id: int,
    *,
    policy: LedgerPolicy | None = None,
) -> Journal:
    """Reserve ``amount`` of the creator's available balance for payout ``payout_id``. Refused
    below the minimum, when the available balance is not positive (a refund took it below
    zero), or when it is smaller than ``amount``. The balance is read under the account's row
    lock, so concurrent requests queue and never move more than there is."""
    policy = policy or LedgerPolicy.from_settings()
    key = f"payout:{payout_id}"
    if (found := await existing_journal(session, key)) is not None:
        return found
    if amount < policy.min_payout_amount:
        raise PayoutBelowMinimum(
            f"The smallest payout is {policy.min_payout_amount}.",
            fields={"amount": f"at least {policy.min_payout_amount}"},
        )
    available = rules.creator("creator_available", creator_id, currency)
    in_transit = rules.creator("creator_in_transit", creator_id, currency)
    locked = await lock_accounts(session, {available, in_transit})
    if (found := await existing_journal(session, key)) is not None:
        return found
    balance = locked[available].balance
    if balance <= 0 or amount > balance:
        raise InsufficientFunds(f"{max(balance, 0)} {currency} is available for payout.")
    return await post_journal(
        session,
        rules.payout_request_legs(creator_id, currency, amount),
        key=key,
        kind="payout_request",
        reference_type="payout",
        reference_id=payout_id,
    )


@dataclass(frozen=True)
class _Requested:
    transfer_id: int
    in_transit: AccountRef
    amount: int


async def _requested(session: WriteSession, payout_id: int) -> _Requested:
    journal = await repository.get_journal(session, f"payout:{payout_id}")
    if journal is None:
        raise PayoutNotFound()
    (transfer,) = await repository.journal_transfers(session, journal.id)
    accounts = await repository.accounts_by_id(session, [transfer.credit_account_id])
    return _Requested(transfer.id, accounts[transfer.credit_account_id], transfer.amount)


async def _finish(
    session: WriteSession, payout_id: int, outcome: Literal["settled", "reversed"]
) -> Journal:
    key = f"payout:{payout_id}:{outcome}"
    if (found := await existing_journal(session, key)) is not None:
        return found
    req = await _requested(session, payout_id)
    creator_id, currency = req.in_transit.owner_id, req.in_transit.currency
    available = rules.creator("creator_available", creator_id, currency)
    other = rules.platform("payout_clearing", currency) if outcome == "settled" else available
    await lock_accounts(session, {req.in_transit, other})
    if (found := await existing_journal(session, key)) is not None:
        return found
    if outcome == "settled":
        if await repository.get_journal(session, f"payout:{payout_id}:reversed") is not None:
            raise PayoutAlreadyReversed()
        legs = rules.payout_settlement_legs(creator_id, currency, req.amount)
        kind: Literal["payout_settlement", "payout_reversal"] = "payout_settlement"
    else:
        if await repository.get_journal(session, f"payout:{payout_id}:settled") is not None:
            raise PayoutAlreadySettled()
        requested = Leg("payout_requested", available, req.in_transit, req.amount)
        legs = [rules.reversal_leg(requested, req.transfer_id, "payout_reversed")]
        kind = "payout_reversal"
    return await post_journal(
        session, legs, key=key, kind=kind, reference_type="payout", reference_id=payout_id
    )


async def settle_payout(session: WriteSession, payout_id: int) -> Journal:
    """The payout provider confirmed the money reached the creator."""
    return await _finish(session, payout_id, "settled")


async def reverse_payout(session: WriteSession, payout_id: int) -> Journal:
    """The payout failed or bounced: the money is available to the creator again."""
    return await _finish(session, payout_id, "reversed")
