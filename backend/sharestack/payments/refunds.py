"""Refunds, by the creator who was paid: several partial ones per payment, never more in total
than the payment. The amount is reserved on the payment row first (``reserve_refund``: a
conditional UPDATE that holds the row until the commit, so concurrent refunds of one payment
queue there), then asked of the provider under an ``out_refund_no`` derived from the
idempotency record (both providers refund once per number). A provider refusal undoes the
reservation with the transaction; a timeout leaves the refund ``unknown``, still reserved, until
the reconciliation job learns what happened. A refund does not end the subscription it paid
for: that is the creator's separate choice (cancel)."""

from __future__ import annotations

from sharestack.config import Settings
from sharestack.db.session import WriteSession
from sharestack.jobs import outbox
from sharestack.payments import repository, settlement
from sharestack.payments.checkout import notify_url
from sharestack.payments.exceptions import (
    NotPaymentCreator,
    PaymentNotFound,
    PaymentNotRefundable,
    RefundExceedsPayment,
    RefundRejected,
)
from sharestack.payments.models import Payment, Refund
from sharestack.payments.providers import (
    PaymentProvider,
    ProviderRejected,
    ProviderUnavailable,
    references,
)
from sharestack.payments.schemas import RefundCreate, RefundRead
from sharestack.subscriptions import service as subscriptions_service


def refund_read(refund: Refund) -> RefundRead:
    return RefundRead(
        id=refund.id,
        payment_id=refund.payment_id,
        amount=refund.amount,
        currency=refund.currency,
        status=refund.status,
        created_at=refund.created_at,
        refunded_at=refund.refunded_at,
    )


async def creator_of(session: WriteSession, payment: Payment) -> int | None:
    if payment.subscription_id is None:
        return None
    terms = await subscriptions_service.renewal_terms(session, payment.subscription_id)
    return terms.creator_id if terms is not None else None


async def get_refundable(session: WriteSession, payment_id: int, caller_id: int) -> Payment:
    payment = await repository.get(session, payment_id)
    if payment is None:
        raise PaymentNotFound()
    if await creator_of(session, payment) != caller_id:
        if payment.user_id == caller_id:
            raise NotPaymentCreator()
        raise PaymentNotFound()
    return payment


async def create(
    session: WriteSession,
    providers: dict[str, PaymentProvider],
    settings: Settings,
    *,
    payment: Payment,
    caller_id: int,
    data: RefundCreate,
    record_id: int,
) -> RefundRead:
    if payment.status != "succeeded":
        raise PaymentNotRefundable()
    amount = data.amount if data.amount is not None else payment.amount - payment.refunded_amount
    if amount <= 0 or not await repository.reserve_refund(session, payment.id, amount):
        raise RefundExceedsPayment()
    refund = Refund(
        payment_id=payment.id,
        requested_by=caller_id,
        amount=amount,
        currency=payment.currency,
        status="pending",
        out_refund_no=references.refund_no(record_id),
        reason=data.reason,
    )
    await repository.add(session, refund)
    provider = providers.get(payment.provider)
    if provider is None:
        raise RefundRejected(f"{payment.provider} is not configured here.")
    try:
        state = await provider.refund(
            payment.out_trade_no,
            refund.out_refund_no,
            amount,
            payment.amount,
            reason=data.reason,
            notify_url=notify_url(settings, provider.name),
        )
    except ProviderUnavailable:
        await repository.transition_refund(session, refund, "unknown")
        await outbox.enqueue(session, "settle_refund", refund_id=refund.id)
    except ProviderRejected as exc:
        raise RefundRejected(f"The payment provider refused the refund ({exc.code}).") from exc
    else:
        await settlement.apply_refund_state(session, refund, state)
    fresh = await repository.get_refund(session, refund.id)
    assert fresh is not None
    return refund_read(fresh)
