"""Money in: a payment is recorded, held, released to the creator, or refunded.

The payments domain calls these with plain values, inside its own transaction (the one that
marks the payment succeeded or the refund done), so the ledger and the payment row commit or roll
back together. Journal keys: ``payment:{payment_id}``, ``hold:{payment_id}``,
``refund:{refund_id}``; all three reference ``("payment", payment_id)``, so one index lookup
gives everything that happened to a payment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sharestack.db.session import WriteSession
from sharestack.ledger import repository, rules
from sharestack.ledger.exceptions import PaymentNotRecorded, RefundExceedsPayment
from sharestack.ledger.models import LedgerTransfer
from sharestack.ledger.posting import Journal, existing_journal, lock_accounts, post_journal
from sharestack.ledger.rules import AccountRef, LedgerPolicy


@dataclass(frozen=True)
class PaymentFacts:
    """What the ledger knows of one payment, from its transfers."""

    payment_id: int
    creator_id: int
    provider: str
    currency: str
    gross: int
    fee: int
    refunded: int
    still_pending: int


def payment_facts(
    payment_id: int, transfers: Sequence[LedgerTransfer], accounts: dict[int, AccountRef]
) -> PaymentFacts | None:
    mine = [t for t in transfers if t.reference_type == "payment" and t.reference_id == payment_id]
    captured = next((t for t in mine if t.kind == "payment_captured"), None)
    if captured is None:
        return None
    pending, source = accounts[captured.credit_account_id], accounts[captured.debit_account_id]
    still_pending = sum(
        t.amount if t.credit_account_id == captured.credit_account_id else -t.amount
        for t in mine
        if captured.credit_account_id in (t.credit_account_id, t.debit_account_id)
    )
    return PaymentFacts(
        payment_id=payment_id,
        creator_id=pending.owner_id,
        provider=source.provider,
        currency=pending.currency,
        gross=captured.amount,
        fee=sum(t.amount for t in mine if t.kind == "platform_fee"),
        refunded=sum(t.amount for t in mine if t.kind in ("refund", "fee_refunded")),
        still_pending=still_pending,
    )


async def _facts(session: WriteSession, payment_ids: Sequence[int]) -> dict[int, PaymentFacts]:
    transfers = await repository.transfers_for(session, "payment", payment_ids)
    accounts = await repository.accounts_by_id(
        session, {i for t in transfers for i in (t.debit_account_id, t.credit_account_id)}
    )
    facts = {}
    for payment_id in payment_ids:
        found = payment_facts(payment_id, transfers, accounts)
        if found is not None:
            facts[payment_id] = found
    return facts


async def record_payment(
    session: WriteSession,
    payment_id: int,
    creator_id: int,
    provider: str,
    currency: str,
    gross_amount: int,
    processor_fee_amount: int = 0,
    *,
    policy: LedgerPolicy | None = None,
    external_reference: str | None = None,
) -> Journal:
    """A captured payment: its gross is pending for the creator, less the platform fee.
    ``external_reference`` is the order number the provider's statement will list."""
    if gross_amount <= 0 or processor_fee_amount < 0:
        raise ValueError("a payment has a positive gross and a non-negative processor fee")
    policy = policy or LedgerPolicy.from_settings()
    fee = rules.platform_fee(gross_amount, policy.fee_bps)
    legs = rules.payment_legs(
        creator_id, provider, currency, gross_amount, fee, processor_fee_amount
    )
    return await post_journal(
        session,
        legs,
        key=f"payment:{payment_id}",
        kind="payment",
        reference_type="payment",
        reference_id=payment_id,
        external_reference=external_reference,
    )


async def release_holds(
    session: WriteSession, now: datetime, *, policy: LedgerPolicy | None = None
) -> list[Journal]:
    """Move what is still pending of every payment older than the hold period to available.

    Handles at most ``policy.release_batch`` payments; call again (in a new transaction) until
    it returns an empty list. Several workers may run it at once: each claims different payments
    (``SKIP LOCKED``), and the journal key ``hold:{payment_id}`` makes a repeat a no-op. All the
    batch's accounts are locked up front, in the one lock order, so two sweeps never deadlock.
    """
    policy = policy or LedgerPolicy.from_settings()
    cutoff = now - timedelta(days=policy.hold_days)
    due = await repository.claim_due_payments(session, cutoff, policy.release_batch)
    if not due:
        return []
    ids = [j.reference_id for j in due]
    before = await _facts(session, ids)
    await lock_accounts(
        session,
        {
            rules.creator(kind, f.creator_id, f.currency)
            for f in before.values()
            for kind in ("creator_pending", "creator_available")
        },
    )
    facts = await _facts(session, ids)  # again: a refund may have committed while we waited
    journals = []
    for payment_id in ids:
        if payment_id not in facts:
            continue  # pragma: no cover - a payment journal always captures something
        f = facts[payment_id]
        journals.append(
            await post_journal(
                session,
                rules.hold_release_legs(f.creator_id, f.currency, f.still_pending),
                key=f"hold:{payment_id}",
                kind="hold_release",
                reference_type="payment",
                reference_id=payment_id,
            )
        )
    return journals


async def record_refund(
    session: WriteSession,
    refund_id: int,
    payment_id: int,
    amount: int,
    *,
    external_reference: str | None = None,
) -> Journal:
    """Return ``amount`` of a payment to its provider: from the creator's pending balance while
    the payment is held, from available once released (which may then go negative: the creator
    may have been paid that money; payouts wait until the balance is positive again). The fee
    is given back pro rata (``rules.refund_fee_share``); the processor's fee is not."""
    if amount <= 0:
        raise ValueError("a refund has a positive amount")
    key = f"refund:{refund_id}"
    if (found := await existing_journal(session, key)) is not None:
        return found
    facts = await _facts(session, [payment_id])
    if payment_id not in facts:
        raise PaymentNotRecorded()
    f = facts[payment_id]
    await lock_accounts(
        session,
        {
            rules.creator("creator_pending", f.creator_id, f.currency),
            rules.creator("creator_available", f.creator_id, f.currency),
            rules.clearing(f.provider, f.currency),
            rules.platform("platform_fee_revenue", f.currency),
        },
    )
    if (found := await existing_journal(session, key)) is not None:
        return found
    f = (await _facts(session, [payment_id]))[payment_id]  # under the locks
    if f.refunded + amount > f.gross:
        raise RefundExceedsPayment(
            f"Payment {payment_id} has {f.gross - f.refunded} left to refund, not {amount}."
        )
    released = await repository.get_journal(session, f"hold:{payment_id}") is not None
    legs = rules.refund_legs(
        f.creator_id,
        f.provider,
        f.currency,
        gross=f.gross,
        fee=f.fee,
        refunded_before=f.refunded,
        amount=amount,
        released=released,
    )
    return await post_journal(
        session,
        legs,
        key=key,
        kind="refund",
        reference_type="payment",
        reference_id=payment_id,
        external_reference=external_reference,
    )
