"""Applying a provider's authoritative answer (a query, a charge's result) to our rows, once.

Each function moves the payment (or refund, or agreement) with a conditional transition and
applies the effects only when that transition matched: a paid period for the subscription, a
failed renewal, the release of a failed refund's reservation. Whoever reports an outcome first
(the webhook job, the reconciliation job, the renewal worker) applies it; everyone after
changes nothing.
"""

from __future__ import annotations

import logging

from sharestack.config import Settings
from sharestack.db.base import utcnow
from sharestack.db.session import WriteSession
from sharestack.ledger import earnings as ledger_earnings
from sharestack.ledger.rules import LedgerPolicy
from sharestack.payments import repository
from sharestack.payments.models import Payment, PaymentAgreement, Refund
from sharestack.payments.providers import OrderState, RefundState
from sharestack.payments.states import ORDER_OUTCOMES
from sharestack.subscriptions import service as subscriptions_service

logger = logging.getLogger(__name__)


async def apply_order_state(
    session: WriteSession, payment: Payment, state: OrderState, settings: Settings
) -> str:
    """What the provider says about ``payment``'s order, applied; returns what happened."""
    if state.amount is not None and state.amount != payment.amount:
        logger.error(
            "provider reports another amount for an order; not applied",
            extra={"payment": payment.id, "ours": payment.amount, "theirs": state.amount},
        )
        return "amount_mismatch"
    target = ORDER_OUTCOMES.get(state.status)
    if target == "succeeded":
        values: dict[str, object] = {"succeeded_at": state.paid_at or utcnow()}
        if state.provider_ref:
            values["provider_ref"] = state.provider_ref
        if not await repository.transition_payment(session, payment, "succeeded", **values):
            return "no_change"
        if payment.subscription_id is not None:
            await subscriptions_service.paid(session, payment.subscription_id, payment.id)
            await _credit_creator(session, payment, settings)
        return "succeeded"
    if target == "failed":
        if not await repository.transition_payment(session, payment, "failed"):
            return "no_change"
        if payment.kind == "renewal" and payment.subscription_id is not None:
            await subscriptions_service.renewal_failed(
                session, payment.subscription_id, payment.id, settings
            )
        return "failed"
    if state.status == "pending" and payment.status == "unknown":
        await repository.transition_payment(session, payment, "pending")
        return "pending"
    return "no_change"


async def _credit_creator(session: WriteSession, payment: Payment, settings: Settings) -> None:
    """The money the payment brought in, in the ledger, in the same transaction as the
    payment's success: the creator's pending balance, less the platform fee (journal key
    ``payment:<id>``, so a repeated success posts nothing)."""
    assert payment.subscription_id is not None
    terms = await subscriptions_service.renewal_terms(session, payment.subscription_id)
    if terms is None:
        return
    await ledger_earnings.record_payment(
        session,
        payment.id,
        terms.creator_id,
        payment.provider,
        payment.currency,
        payment.amount,
        policy=LedgerPolicy.from_settings(settings),
        external_reference=payment.out_trade_no,
    )


async def order_not_found(session: WriteSession, payment: Payment, settings: Settings) -> str:
    """The provider has no such order: the create (or charge) never arrived, so nothing was
    paid. Only a payment whose outcome we did not know is settled this way."""
    if payment.status != "unknown":
        return "no_change"
    state = OrderState(payment.out_trade_no, "failed", "ORDER_NOT_EXIST")
    return await apply_order_state(session, payment, state, settings)


async def apply_refund_state(session: WriteSession, refund: Refund, state: RefundState) -> str:
    if state.status == "succeeded":
        moved = await repository.transition_refund(
            session,
            refund,
            "succeeded",
            refunded_at=state.refunded_at,
            provider_ref=state.provider_ref,
        )
        if not moved:
            return "no_change"
        # Reversed in the ledger in the same transaction, from pending or available.
        await ledger_earnings.record_refund(
            session,
            refund.id,
            refund.payment_id,
            refund.amount,
            external_reference=refund.out_refund_no,
        )
        return "succeeded"
    if state.status == "failed":
        if not await repository.transition_refund(session, refund, "failed"):
            return "no_change"
        # The reservation made when the refund was asked for is given back, once.
        await repository.release_refund(session, refund.payment_id, refund.amount)
        return "failed"
    if state.status == "unknown":
        moved = await repository.transition_refund(session, refund, "unknown")
        return "unknown" if moved else "no_change"
    return "no_change"


async def apply_agreement(
    session: WriteSession, agreement: PaymentAgreement, status: str, agreement_no: str | None
) -> str:
    """A verified agreement notification: signed lets renewals charge; unsigned stops them.
    Forward only (pending → signed → unsigned): a late "signed" after "unsigned" is ignored."""
    if status == "signed":
        if not await repository.transition_agreement(
            session, agreement, "signed", agreement_no=agreement_no, signed_at=utcnow()
        ):
            return "no_change"
        await subscriptions_service.set_auto_renew(session, agreement.subscription_id, True)
        return "signed"
    if status == "unsigned":
        if not await repository.transition_agreement(session, agreement, "unsigned"):
            return "no_change"
        await subscriptions_service.set_auto_renew(session, agreement.subscription_id, False)
        return "unsigned"
    return "no_change"
