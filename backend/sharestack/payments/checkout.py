"""Checkout: one period of a plan, paid through a provider; with ``auto_renew``, also a
recurring-charge agreement for the periods after it (Alipay 周期扣款 and the sandbox; WeChat
Pay's 委托代扣 is an API v2 product the adapter does not offer, so it is refused up front).

Runs inside ``idempotency.run``: ``record_id`` is the idempotency record's id, from which the
order number and the agreement number are derived, so a retried checkout reaches the provider
under the same numbers. A provider timeout leaves the payment ``unknown`` (no payment action to
show); the reconciliation job queries the provider and settles it. A provider refusal fails the
request and undoes everything.
"""

from __future__ import annotations

from datetime import timedelta

from sharestack.config import Settings
from sharestack.db.base import utcnow
from sharestack.db.session import WriteSession
from sharestack.jobs import outbox
from sharestack.payments import repository
from sharestack.payments.exceptions import (
    AutoRenewUnsupported,
    CheckoutRejected,
    ProviderNotOffered,
)
from sharestack.payments.models import Payment, PaymentAgreement
from sharestack.payments.providers import (
    AgreementRequest,
    Order,
    PaymentProvider,
    ProviderRejected,
    ProviderUnavailable,
    UnsupportedOperation,
    references,
)
from sharestack.payments.providers import CheckoutAction as ProviderAction
from sharestack.payments.schemas import (
    AgreementRead,
    CheckoutAction,
    CheckoutCreate,
    CheckoutRead,
    PaymentRead,
)
from sharestack.subscriptions import service as subscriptions_service

RECURRING = ("alipay", "sandbox")


def notify_url(settings: Settings, provider: str) -> str:
    return references.webhook_url(settings.payments_public_base_url, provider)


def payment_read(payment: Payment) -> PaymentRead:
    return PaymentRead(
        id=payment.id,
        status=payment.status,
        amount=payment.amount,
        currency=payment.currency,
        refunded_amount=payment.refunded_amount,
        provider=payment.provider,
        kind=payment.kind,
        subscription_id=payment.subscription_id,
        out_trade_no=payment.out_trade_no,
        created_at=payment.created_at,
        succeeded_at=payment.succeeded_at,
    )


def _action(action: ProviderAction) -> CheckoutAction:
    return CheckoutAction(
        kind=action.kind,
        qr_code=action.qr_code,
        code_url=action.qr_code,
        redirect_url=action.redirect_url,
        jsapi_params=dict(action.jsapi_params) if action.jsapi_params is not None else None,
    )


def choose(providers: dict[str, PaymentProvider], data: CheckoutCreate) -> PaymentProvider:
    provider = providers.get(data.provider)
    if provider is None:
        raise ProviderNotOffered(fields={"provider": f"{data.provider} is not configured here"})
    if data.auto_renew and provider.name not in RECURRING:
        raise AutoRenewUnsupported(fields={"auto_renew": f"not available with {provider.name}"})
    return provider


async def create(
    session: WriteSession,
    providers: dict[str, PaymentProvider],
    settings: Settings,
    *,
    user_id: int,
    data: CheckoutCreate,
    record_id: int,
    client_ip: str | None,
) -> CheckoutRead:
    provider = choose(providers, data)
    terms = await subscriptions_service.prepare_checkout(session, user_id, data.plan_id)
    payment = Payment(
        user_id=user_id,
        subscription_id=terms.subscription_id,
        kind="checkout",
        amount=terms.amount,
        currency=terms.currency,
        refunded_amount=0,
        status="pending",
        provider=provider.name,
        out_trade_no=references.checkout_trade_no(record_id),
        idempotency_key=f"checkout:{record_id}",
    )
    await repository.add(session, payment)
    agreement = None
    if data.auto_renew:
        agreement = PaymentAgreement(
            user_id=user_id,
            subscription_id=terms.subscription_id,
            provider=provider.name,
            external_agreement_no=f"ag{record_id:012d}",
            status="pending",
            max_amount=terms.amount,
            currency=terms.currency,
        )
        await repository.add(session, agreement)
    order = Order(
        out_trade_no=payment.out_trade_no,
        amount=payment.amount,
        description=terms.plan_name[:100],
        notify_url=notify_url(settings, provider.name),
        scene=data.scene,
        currency=payment.currency,
        payer_openid=data.openid,
        payer_client_ip=client_ip,
        return_url=data.return_url,
        expires_at=utcnow() + timedelta(hours=2),
    )
    action: CheckoutAction | None = None
    sign_url: str | None = None
    try:
        action = _action(await provider.create_order(order))
        if agreement is not None:
            first = (terms.period_end or utcnow()) + timedelta(days=28)
            signing = await provider.sign_agreement(
                AgreementRequest(
                    external_agreement_no=agreement.external_agreement_no,
                    notify_url=order.notify_url,
                    single_amount=terms.amount,
                    first_charge_on=first.date(),
                    period=12 if terms.interval == "year" else 1,
                    return_url=data.return_url,
                )
            )
            sign_url = signing.redirect_url
    except ProviderUnavailable:
        # The order may or may not exist at the provider: never guess, ask it later.
        await repository.transition_payment(session, payment, "unknown")
        await outbox.enqueue(session, "settle_payment", payment_id=payment.id)
        action = None
    except ProviderRejected as exc:
        raise CheckoutRejected(f"The payment provider refused the order ({exc.code}).") from exc
    except (UnsupportedOperation, ValueError) as exc:
        raise ProviderNotOffered(str(exc), fields={"scene": str(exc)}) from exc
    fresh = await repository.get(session, payment.id)
    assert fresh is not None
    return CheckoutRead(
        payment=payment_read(fresh),
        subscription_id=terms.subscription_id,
        action=action,
        agreement=(
            AgreementRead(
                id=agreement.id, provider=agreement.provider, status="pending", sign_url=sign_url
            )
            if agreement is not None
            else None
        ),
    )
