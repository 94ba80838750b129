"""The sandbox's "buyer" (ENVIRONMENT development or test only): settling a sandbox order, or
signing a sandbox agreement, makes the sandbox provider produce its signed notification, which
is delivered asynchronously through the outbox (job ``deliver_sandbox_notification``) into the
same ``webhooks.receive`` the webhook route calls, and retried with backoff until it is
acknowledged: exactly what a real provider does, minus the HTTP hop (the API may not know a URL
at which it can reach itself, e.g. behind ASGI in tests)."""

from __future__ import annotations

from typing import Literal

from sharestack.config import Environment, Settings
from sharestack.db.session import WriteSession
from sharestack.jobs import outbox
from sharestack.payments import repository
from sharestack.payments.checkout import notify_url
from sharestack.payments.exceptions import SandboxUnavailable
from sharestack.payments.providers import PaymentProvider
from sharestack.payments.providers.sandbox import SandboxProvider, SignedRequest
from sharestack.payments.schemas import SandboxPayRead


def _sandbox(providers: dict[str, PaymentProvider], settings: Settings) -> SandboxProvider:
    provider = providers.get("sandbox")
    if settings.environment is Environment.production or not isinstance(provider, SandboxProvider):
        raise SandboxUnavailable()
    return provider


async def _deliver(session: WriteSession, signed: SignedRequest) -> None:
    await outbox.enqueue(
        session,
        "deliver_sandbox_notification",
        provider="sandbox",
        headers=signed.headers,
        body=signed.body.decode(),
    )


async def pay(
    session: WriteSession,
    providers: dict[str, PaymentProvider],
    settings: Settings,
    *,
    ref: str,
    caller_id: int,
    outcome: Literal["succeed", "fail"],
) -> SandboxPayRead:
    """``ref``: the payment id, or its out_trade_no (the sandbox's own redirect URL uses it)."""
    sandbox = _sandbox(providers, settings)
    payment = (
        await repository.get(session, int(ref))
        if ref.isdigit()
        else await repository.get_by_out_trade_no(session, ref)
    )
    if payment is None or payment.provider != "sandbox" or payment.user_id != caller_id:
        raise SandboxUnavailable()
    signed = await sandbox.pay(
        payment.out_trade_no, "succeeded" if outcome == "succeed" else "failed"
    )
    await _deliver(session, signed)
    return SandboxPayRead(payment_id=payment.id, notification="queued")


async def sign_agreement(
    session: WriteSession,
    providers: dict[str, PaymentProvider],
    settings: Settings,
    *,
    external_agreement_no: str,
    caller_id: int,
) -> None:
    sandbox = _sandbox(providers, settings)
    agreement = await repository.get_agreement_by_external(session, external_agreement_no)
    if agreement is None or agreement.provider != "sandbox" or agreement.user_id != caller_id:
        raise SandboxUnavailable()
    signed = await sandbox.confirm_agreement(external_agreement_no, notify_url(settings, "sandbox"))
    await _deliver(session, signed)
