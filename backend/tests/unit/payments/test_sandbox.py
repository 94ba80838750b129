"""The sandbox keeps the real providers' contract: signed, fresh notifications; idempotent
refunds that never exceed the order; duplicates that are duplicates."""

from __future__ import annotations

import pytest

from sharestack.payments.providers.base import (
    AgreementRequest,
    NotificationRejected,
    Order,
    OrderNotFound,
    ProviderRejected,
    RefundNotFound,
)
from sharestack.payments.providers.sandbox import SandboxProvider
from tests.unit.payments.conftest import NOW

ORDER = Order("SS20261201S1", 1990, "订阅", "https://api.example.com/hooks/sandbox", "native")


@pytest.fixture
def sandbox(clock: list[float]) -> SandboxProvider:
    return SandboxProvider("s3cret-for-tests", clock=lambda: clock[0])


async def test_order_pay_and_notification_round_trip(sandbox: SandboxProvider) -> None:
    action = await sandbox.create_order(ORDER)
    assert action.qr_code == "sandbox://pay/SS20261201S1"
    assert (await sandbox.query_order(ORDER.out_trade_no)).status == "pending"
    request = await sandbox.pay(ORDER.out_trade_no)
    assert request.url == ORDER.notify_url
    note = sandbox.parse_notification(request.headers, request.body)
    assert (note.kind, note.status, note.amount) == ("payment", "succeeded", 1990)
    note.verify_against(ORDER.out_trade_no, 1990)
    state = await sandbox.query_order(ORDER.out_trade_no)
    assert state.status == "succeeded"
    assert state.provider_ref == note.provider_ref


async def test_paying_twice_resends_the_same_event(sandbox: SandboxProvider) -> None:
    await sandbox.create_order(ORDER)
    first = await sandbox.pay(ORDER.out_trade_no)
    again = await sandbox.pay(ORDER.out_trade_no, "failed")  # too late: it is paid
    keys = {sandbox.parse_notification(r.headers, r.body).event_key for r in (first, again)}
    assert keys == {"sandbox:payment:SS20261201S1:succeeded"}


@pytest.mark.parametrize("scene", ["h5", "page"])
async def test_redirect_scenes(sandbox: SandboxProvider, scene: str) -> None:
    order = Order("SS20261201S2", 100, "x", "https://h", scene)  # type: ignore[arg-type]
    action = await sandbox.create_order(order)
    assert action.redirect_url == "/api/v1/sandbox/payments/SS20261201S2/pay"


async def test_same_out_trade_no_for_another_order_is_refused(sandbox: SandboxProvider) -> None:
    await sandbox.create_order(ORDER)
    await sandbox.create_order(ORDER)  # a retry is fine
    other = Order(ORDER.out_trade_no, 1, "x", ORDER.notify_url, "native")
    with pytest.raises(ProviderRejected, match="OUT_TRADE_NO_USED"):
        await sandbox.create_order(other)


async def test_expired_forged_and_tampered(sandbox: SandboxProvider, clock: list[float]) -> None:
    await sandbox.create_order(ORDER)
    request = await sandbox.pay(ORDER.out_trade_no)
    other = SandboxProvider("another-secret", clock=lambda: NOW)
    forged = other.make_notification(ORDER, "succeeded")
    with pytest.raises(NotificationRejected, match="bad_signature"):
        sandbox.parse_notification(forged.headers, forged.body)
    with pytest.raises(NotificationRejected, match="bad_signature"):
        sandbox.parse_notification(request.headers, request.body.replace(b"1990", b"1999"))
    clock[0] = NOW + 301
    with pytest.raises(NotificationRejected, match="expired"):
        sandbox.parse_notification(request.headers, request.body)


async def test_close(sandbox: SandboxProvider) -> None:
    await sandbox.create_order(ORDER)
    await sandbox.close_order(ORDER.out_trade_no)
    assert (await sandbox.query_order(ORDER.out_trade_no)).status == "closed"
    with pytest.raises(OrderNotFound):
        await sandbox.close_order("SS20261201NONE")


async def test_refunds_partial_twice_then_too_much(sandbox: SandboxProvider) -> None:
    await sandbox.create_order(ORDER)
    with pytest.raises(ProviderRejected, match="TRADE_NOT_PAID"):
        await sandbox.refund(ORDER.out_trade_no, "R1", 100, 1990)
    await sandbox.pay(ORDER.out_trade_no)
    first = await sandbox.refund(ORDER.out_trade_no, "R1", 1000, 1990)
    assert (first.status, first.amount) == ("succeeded", 1000)
    assert await sandbox.refund(ORDER.out_trade_no, "R1", 1000, 1990) == first  # idempotent
    await sandbox.refund(ORDER.out_trade_no, "R2", 990, 1990)
    with pytest.raises(ProviderRejected, match="NOT_ENOUGH"):
        await sandbox.refund(ORDER.out_trade_no, "R3", 1, 1990)
    assert (await sandbox.query_refund(ORDER.out_trade_no, "R2")).amount == 990
    with pytest.raises(RefundNotFound):
        await sandbox.query_refund(ORDER.out_trade_no, "R3")
    request = sandbox.make_refund_notification(ORDER.notify_url, ORDER.out_trade_no, first)
    note = sandbox.parse_notification(request.headers, request.body)
    assert (note.kind, note.out_refund_no, note.amount) == ("refund", "R1", 1000)


async def test_agreement_sign_then_charge(sandbox: SandboxProvider) -> None:
    from datetime import date

    request = AgreementRequest("SUB1", "https://h", 1990, date(2026, 12, 1))
    action = await sandbox.sign_agreement(request)
    assert action.kind == "redirect"
    signed = await sandbox.confirm_agreement("SUB1", "https://h")
    note = sandbox.parse_notification(signed.headers, signed.body)
    assert (note.kind, note.status) == ("agreement", "signed")
    assert note.agreement_no is not None
    charge = await sandbox.charge_agreement(
        note.agreement_no, "SS20261201R1", 1990, description="x"
    )
    assert charge.status == "succeeded"
    refused = await sandbox.charge_agreement("SBA-unknown", "SS20261201R2", 1990, description="x")
    assert refused.status == "failed"


def test_order_amounts_are_int_fen() -> None:
    with pytest.raises(ValueError, match="fen"):
        Order("SS20261201S1", 19.9, "x", "https://h", "native")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fen"):
        Order("SS20261201S1", 0, "x", "https://h", "native")
    with pytest.raises(ValueError, match="out_trade_no"):
        Order("short", 1, "x", "https://h", "native")


async def test_send_posts_the_signed_request(sandbox: SandboxProvider) -> None:
    import httpx

    from sharestack.payments.providers.sandbox import send

    await sandbox.create_order(ORDER)
    request = await sandbox.pay(ORDER.out_trade_no)
    seen: list[httpx.Request] = []

    def webhook(incoming: httpx.Request) -> httpx.Response:
        seen.append(incoming)
        note = sandbox.parse_notification(dict(incoming.headers), incoming.content)
        ack = sandbox.ack(note.status == "succeeded")
        return httpx.Response(ack.status, headers=ack.headers, content=ack.body)

    async with httpx.AsyncClient(transport=httpx.MockTransport(webhook)) as client:
        assert await send(request, client) == 200
    assert str(seen[0].url) == ORDER.notify_url
