"""The WeChat Pay and Alipay adapters over real HTTP against their simulators
(tests/support/payment_simulators.py), with notifications delivered to a real webhook server
that parses and acknowledges them the way the payments domain will."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sharestack.payments.providers import _rsa
from sharestack.payments.providers.alipay import AlipayConfig, AlipayProvider
from sharestack.payments.providers.base import (
    AgreementRequest,
    Notification,
    NotificationRejected,
    Order,
    OrderNotFound,
    PaymentProvider,
    ProviderRejected,
    ProviderUnavailable,
    RefundNotFound,
    UnsupportedOperation,
    UntrustedResponse,
)
from sharestack.payments.providers.wechatpay import WechatPayConfig, WechatPayProvider
from sharestack.payments.providers.wechatpay_crypto import WechatPayVerifier, jsapi_message
from tests.support.alipay_simulator import AlipaySimulator
from tests.support.payment_keys import KeyPair
from tests.support.payment_simulators import serve
from tests.support.wechatpay_simulator import PLATFORM_SERIAL, PUB_KEY_ID, WechatPaySimulator

pytestmark = pytest.mark.system

MCHID, APPID, SERIAL = (
    "1900000109",
    "wxd678efh567hg6787",
    "3775B6A45ACD588826D15E583A95F5DD2AA85D5E",
)
APIV3_KEY = b"a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"
ALIPAY_APP_ID, SELLER_ID = "2021000000000001", "2088102146225135"
TIMEOUT = 0.5  # the simulators' hang knob sleeps 2 s


@dataclass
class Webhook:
    """Our side: parse, verify against the order, credit once per transition, acknowledge."""

    providers: dict[str, PaymentProvider] = field(default_factory=dict)
    orders: dict[str, int] = field(default_factory=dict)  # out_trade_no -> amount in fen
    events: dict[str, Notification] = field(default_factory=dict)  # by event key
    credited: dict[str, int] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: Request) -> Response:
        provider = self.providers[request.path_params["name"]]
        try:
            note = provider.parse_notification(request.headers, await request.body())
            if note.kind == "payment" and note.out_trade_no is not None:
                note.verify_against(note.out_trade_no, self.orders[note.out_trade_no])
        except NotificationRejected as exc:
            self.refused.append(exc.reason)
            ack = provider.ack(False)
        else:
            if note.event_key not in self.events:  # the unique index on event keys
                self.events[note.event_key] = note
                key = note.out_trade_no or ""
                if (
                    note.kind == "payment"
                    and note.status == "succeeded"
                    and key not in self.credited
                ):
                    self.credited[key] = note.amount or 0
            ack = provider.ack(True)
        return Response(ack.body, status_code=ack.status, headers=ack.headers)

    def notify_url(self, name: str) -> str:
        return f"{self.url}/hooks/{name}"


@pytest.fixture(scope="module")
def merchant_key() -> KeyPair:
    return KeyPair.generate()


@pytest.fixture(scope="module")
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    app = Starlette(routes=[Route("/hooks/{name:str}", hook.handle, methods=["POST"])])
    with serve(app) as url:
        hook.url = url
        yield hook


@pytest.fixture(scope="module")
def wechat_sim(merchant_key: KeyPair) -> Iterator[WechatPaySimulator]:
    sim = WechatPaySimulator(
        mchid=MCHID, appid=APPID, merchant_serial=SERIAL,
        merchant_public_key=merchant_key.public, apiv3_key=APIV3_KEY,
    )  # fmt: skip
    with serve(sim.app) as url:
        sim.base_url = url
        yield sim


def _wechat(
    sim: WechatPaySimulator, key: KeyPair, verifier: WechatPayVerifier
) -> WechatPayProvider:
    config = WechatPayConfig(
        mchid=MCHID, appid=APPID, serial_no=SERIAL, private_key=key.private,
        apiv3_key=APIV3_KEY, verifier=verifier, base_url=sim.base_url, timeout=TIMEOUT,
    )  # fmt: skip
    return WechatPayProvider(config)


@pytest.fixture
async def wechat(
    wechat_sim: WechatPaySimulator, merchant_key: KeyPair, webhook: Webhook
) -> AsyncIterator[WechatPayProvider]:
    verifier = WechatPayVerifier(public_key_id=PUB_KEY_ID, public_key=wechat_sim.key.public)
    provider = _wechat(wechat_sim, merchant_key, verifier)
    webhook.providers["wechatpay"] = provider
    yield provider
    await provider.aclose()


@pytest.fixture(scope="module")
def alipay_sim(merchant_key: KeyPair) -> Iterator[AlipaySimulator]:
    sim = AlipaySimulator(
        app_id=ALIPAY_APP_ID, seller_id=SELLER_ID, app_public_key=merchant_key.public
    )
    with serve(sim.app) as url:
        sim.base_url = url
        yield sim


@pytest.fixture
async def alipay(
    alipay_sim: AlipaySimulator, merchant_key: KeyPair, webhook: Webhook
) -> AsyncIterator[AlipayProvider]:
    config = AlipayConfig(
        app_id=ALIPAY_APP_ID, private_key=merchant_key.private,
        alipay_public_key=alipay_sim.key.public, seller_id=SELLER_ID,
        gateway=f"{alipay_sim.base_url}/gateway.do", timeout=TIMEOUT,
    )  # fmt: skip
    provider = AlipayProvider(config)
    webhook.providers["alipay"] = provider
    yield provider
    await provider.aclose()


def _order(
    webhook: Webhook, provider: str, out_trade_no: str, amount: int, scene: str, **kw: Any
) -> Order:
    webhook.orders[out_trade_no] = amount
    return Order(out_trade_no, amount, "订阅 · 月付", webhook.notify_url(provider), scene, **kw)  # type: ignore[arg-type]


# -- WeChat Pay ---------------------------------------------------------------------------------
async def test_wechat_native_pay_and_notification_round_trip(
    wechat: WechatPayProvider, wechat_sim: WechatPaySimulator, webhook: Webhook
) -> None:
    order = _order(webhook, "wechatpay", "WXNATIVE0001", 1990, "native")
    action = await wechat.create_order(order)
    assert action.kind == "qr_code"
    assert action.qr_code is not None
    assert action.qr_code.startswith("weixin://wxpay/bizpayurl?pr=")
    assert await wechat.create_order(order) is not None  # a retry of the same order is accepted
    assert (await wechat.query_order(order.out_trade_no)).status == "pending"
    wechat_sim.pay(order.out_trade_no)
    [delivery] = await wechat_sim.deliver()
    assert delivery.acked
    assert delivery.status == 204
    assert webhook.credited[order.out_trade_no] == 1990
    state = await wechat.query_order(order.out_trade_no)
    assert (state.status, state.amount) == ("succeeded", 1990)
    assert state.provider_ref is not None
    assert state.paid_at is not None


async def test_wechat_h5_and_jsapi(
    wechat: WechatPayProvider, merchant_key: KeyPair, webhook: Webhook
) -> None:
    h5 = await wechat.create_order(
        _order(webhook, "wechatpay", "WXH50000001", 100, "h5", payer_client_ip="203.0.113.9")
    )
    assert h5.redirect_url is not None
    assert h5.redirect_url.startswith("https://wx.tenpay.com/")
    jsapi = await wechat.create_order(
        _order(
            webhook,
            "wechatpay",
            "WXJSAPI00001",
            100,
            "jsapi",
            payer_openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        )
    )
    params = jsapi.jsapi_params
    assert params is not None
    assert params["package"].startswith("prepay_id=wx")
    message = jsapi_message(
        params["appId"], params["timeStamp"], params["nonceStr"], params["package"]
    )
    assert _rsa.verify(merchant_key.public, message, params["paySign"])
    with pytest.raises(UnsupportedOperation):
        await wechat.create_order(_order(webhook, "wechatpay", "WXPAGE000001", 100, "page"))


async def test_wechat_close(wechat: WechatPayProvider, webhook: Webhook) -> None:
    order = _order(webhook, "wechatpay", "WXCLOSE00001", 300, "native")
    await wechat.create_order(order)
    await wechat.close_order(order.out_trade_no)
    assert (await wechat.query_order(order.out_trade_no)).status == "closed"
    with pytest.raises(OrderNotFound):
        await wechat.query_order("WXNEVER00001")


async def test_wechat_refunds_partial_twice(
    wechat: WechatPayProvider, wechat_sim: WechatPaySimulator, webhook: Webhook
) -> None:
    order = _order(webhook, "wechatpay", "WXREFUND0001", 1000, "native")
    await wechat.create_order(order)
    wechat_sim.pay(order.out_trade_no)
    await wechat_sim.deliver()
    hook = webhook.notify_url("wechatpay")
    first = await wechat.refund(
        order.out_trade_no, "WXR1", 300, 1000, reason="退订", notify_url=hook
    )
    assert (first.status, first.amount) == ("pending", 300)
    assert (await wechat.refund(order.out_trade_no, "WXR1", 300, 1000, notify_url=hook)) == first
    second = await wechat.refund(order.out_trade_no, "WXR2", 700, 1000, notify_url=hook)
    assert second.status == "pending"
    with pytest.raises(ProviderRejected) as info:
        await wechat.refund(order.out_trade_no, "WXR3", 1, 1000)
    assert info.value.code == "INVALID_REQUEST"
    wechat_sim.complete_refund("WXR1")
    [delivery] = await wechat_sim.deliver()
    assert delivery.acked
    refunds = [n for n in webhook.events.values() if n.out_refund_no == "WXR1"]
    assert [(n.kind, n.status, n.amount) for n in refunds] == [("refund", "succeeded", 300)]
    assert (await wechat.query_refund(order.out_trade_no, "WXR1")).status == "succeeded"
    assert (await wechat.query_refund(order.out_trade_no, "WXR2")).status == "pending"
    with pytest.raises(RefundNotFound):
        await wechat.query_refund(order.out_trade_no, "WXR9")
    assert (await wechat.query_order(order.out_trade_no)).status == "succeeded"  # REFUND


async def test_wechat_duplicate_notifications_credit_once(
    wechat: WechatPayProvider, wechat_sim: WechatPaySimulator, webhook: Webhook
) -> None:
    order = _order(webhook, "wechatpay", "WXDUPLIC0001", 500, "native")
    await wechat.create_order(order)
    wechat_sim.knobs.duplicate_notifications = 3
    try:
        wechat_sim.pay(order.out_trade_no)
        deliveries = await wechat_sim.deliver()
    finally:
        wechat_sim.knobs.duplicate_notifications = 1
    assert [d.acked for d in deliveries] == [True, True, True]
    assert webhook.credited[order.out_trade_no] == 500
    assert sum(1 for n in webhook.events.values() if n.out_trade_no == order.out_trade_no) == 1


async def test_wechat_forged_notification_is_refused_and_retried(
    wechat: WechatPayProvider, wechat_sim: WechatPaySimulator, webhook: Webhook
) -> None:
    order = _order(webhook, "wechatpay", "WXFORGED0001", 500, "native")
    await wechat.create_order(order)
    wechat_sim.pay(order.out_trade_no)
    delivery = wechat_sim.outbox[0]
    delivery.body = delivery.body.replace(b'"id":', b'"id" :', 1)
    [answered] = await wechat_sim.deliver()
    assert not answered.acked
    assert answered.status == 500
    assert json.loads(answered.answer)["code"] == "FAIL"
    assert webhook.refused[-1] == "bad_signature"
    assert order.out_trade_no not in webhook.credited


async def test_wechat_timeout_error_codes_and_bad_answers(
    wechat: WechatPayProvider, wechat_sim: WechatPaySimulator
) -> None:
    wechat_sim.knobs.hang_next = 1
    with pytest.raises(ProviderUnavailable, match="timed out"):
        await wechat.query_order("WXNATIVE0001")
    wechat_sim.knobs.errors.append((500, "SYSTEM_ERROR", "系统错误"))
    with pytest.raises(ProviderUnavailable):
        await wechat.query_order("WXNATIVE0001")
    wechat_sim.knobs.errors.append((429, "FREQUENCY_LIMITED", "频率超限"))
    with pytest.raises(ProviderUnavailable):
        await wechat.query_order("WXNATIVE0001")
    wechat_sim.knobs.errors.append((403, "NO_AUTH", "商户无权限"))
    with pytest.raises(ProviderRejected, match="NO_AUTH"):
        await wechat.query_order("WXNATIVE0001")
    wechat_sim.knobs.bad_signature_next = 1
    with pytest.raises(UntrustedResponse, match="bad_signature"):
        await wechat.query_order("WXNATIVE0001")
    assert (await wechat.query_order("WXNATIVE0001")).status == "succeeded"


async def test_wechat_simulator_refuses_a_request_we_did_not_sign(
    wechat_sim: WechatPaySimulator,
) -> None:
    verifier = WechatPayVerifier(public_key_id=PUB_KEY_ID, public_key=wechat_sim.key.public)
    impostor = _wechat(wechat_sim, KeyPair.generate(), verifier)
    try:
        with pytest.raises(ProviderRejected, match="SIGN_ERROR"):
            await impostor.query_order("WXNATIVE0001")
    finally:
        await impostor.aclose()


async def test_wechat_platform_certificate_mode(merchant_key: KeyPair) -> None:
    sim = WechatPaySimulator(
        mchid=MCHID, appid=APPID, merchant_serial=SERIAL, merchant_public_key=merchant_key.public,
        apiv3_key=APIV3_KEY, mode="certificate",
    )  # fmt: skip
    cert = sim.key.certificate_pem(PLATFORM_SERIAL)
    verifier = WechatPayVerifier(
        platform_keys={_rsa.certificate_serial(cert): _rsa.load_public_key(cert)}
    )
    with serve(sim.app) as url:
        sim.base_url = url
        provider = _wechat(sim, merchant_key, verifier)
        try:
            action = await provider.create_order(
                Order("WXCERT000001", 1, "x", "https://h", "native")
            )
            assert action.qr_code is not None
        finally:
            await provider.aclose()


# -- Alipay -------------------------------------------------------------------------------------
async def test_alipay_precreate_pay_notification_and_finished(
    alipay: AlipayProvider, alipay_sim: AlipaySimulator, webhook: Webhook
) -> None:
    order = _order(webhook, "alipay", "APQR00000001", 1990, "native")
    action = await alipay.create_order(order)
    assert action.qr_code is not None
    assert action.qr_code.startswith("https://qr.alipay.com/")
    with pytest.raises(OrderNotFound):  # not scanned yet: Alipay does not know the trade
        await alipay.query_order(order.out_trade_no)
    alipay_sim.pay(order.out_trade_no)
    [delivery] = await alipay_sim.deliver()
    assert (delivery.acked, delivery.answer) == (True, b"success")
    state = await alipay.query_order(order.out_trade_no)
    assert (state.status, state.amount) == ("succeeded", 1990)
    alipay_sim.finish(order.out_trade_no)
    [finished] = await alipay_sim.deliver()
    assert finished.acked
    keys = {k for k, n in webhook.events.items() if n.out_trade_no == order.out_trade_no}
    assert keys == {
        f"alipay:trade:{order.out_trade_no}:TRADE_SUCCESS",
        f"alipay:trade:{order.out_trade_no}:TRADE_FINISHED",
    }
    assert webhook.credited[order.out_trade_no] == 1990  # credited once


@pytest.mark.parametrize(
    ("scene", "method"), [("page", "alipay.trade.page.pay"), ("h5", "alipay.trade.wap.pay")]
)
async def test_alipay_redirect_urls_are_accepted_by_the_gateway(
    alipay: AlipayProvider, alipay_sim: AlipaySimulator, webhook: Webhook, scene: str, method: str
) -> None:
    order = _order(
        webhook,
        "alipay",
        f"APREDIR{scene.upper():0>5}",
        1234,
        scene,
        return_url="https://example.com/r",
    )
    action = await alipay.create_order(order)
    assert action.redirect_url is not None
    assert dict(parse_qsl(urlsplit(action.redirect_url).query))["method"] == method
    async with httpx.AsyncClient() as client:
        assert (await client.get(action.redirect_url)).status_code == 200
        params = dict(parse_qsl(urlsplit(action.redirect_url).query))
        params["biz_content"] = params["biz_content"].replace("12.34", "0.01")
        tampered = f"{alipay_sim.base_url}/gateway.do?{urlencode(params)}"
        refused = await client.get(tampered)
    assert refused.status_code == 400
    assert "isv.invalid-signature" in refused.text
    await alipay.close_order(order.out_trade_no)
    assert (await alipay.query_order(order.out_trade_no)).status == "closed"


async def test_alipay_refunds_partial_twice(
    alipay: AlipayProvider, alipay_sim: AlipaySimulator, webhook: Webhook
) -> None:
    order = _order(webhook, "alipay", "APREFUND0001", 1000, "native")
    await alipay.create_order(order)
    alipay_sim.pay(order.out_trade_no)
    first = await alipay.refund(order.out_trade_no, "APR1", 300, 1000)
    assert (first.status, first.amount) == ("succeeded", 300)
    assert (await alipay.refund(order.out_trade_no, "APR1", 300, 1000)).status == "succeeded"
    await alipay.refund(order.out_trade_no, "APR2", 700, 1000)
    # Fully refunded, the trade is closed: nothing more to refund.
    with pytest.raises(ProviderRejected, match=r"ACQ\.TRADE_STATUS_ERROR"):
        await alipay.refund(order.out_trade_no, "APR3", 1, 1000)
    deliveries = await alipay_sim.deliver()
    assert all(d.acked for d in deliveries)
    refunds = {
        n.out_refund_no: n.raw["refunded_total"]
        for n in webhook.events.values()
        if n.kind == "refund" and n.out_trade_no == order.out_trade_no
    }
    assert refunds == {"APR1": 300, "APR2": 1000}
    assert (await alipay.query_refund(order.out_trade_no, "APR2")).amount == 700
    with pytest.raises(RefundNotFound):
        await alipay.query_refund(order.out_trade_no, "APR9")


async def test_alipay_refund_beyond_the_refundable_amount(
    alipay: AlipayProvider, alipay_sim: AlipaySimulator, webhook: Webhook
) -> None:
    order = _order(webhook, "alipay", "APREFUND0002", 1000, "native")
    await alipay.create_order(order)
    alipay_sim.pay(order.out_trade_no)
    await alipay.refund(order.out_trade_no, "APR21", 600, 1000)
    with pytest.raises(ProviderRejected, match=r"ACQ\.REFUND_AMT_NOT_EQUAL_TOTAL"):
        await alipay.refund(order.out_trade_no, "APR22", 500, 1000)
    await alipay_sim.deliver()


async def test_alipay_timeout_error_codes_and_bad_answers(
    alipay: AlipayProvider, alipay_sim: AlipaySimulator
) -> None:
    alipay_sim.knobs.hang_next = 1
    with pytest.raises(ProviderUnavailable, match="timed out"):
        await alipay.query_order("APQR00000001")
    alipay_sim.knobs.errors.append(
        {"code": "20000", "msg": "Service Currently Unavailable", "sub_code": "isp.unknow-error"}
    )
    with pytest.raises(ProviderUnavailable):
        await alipay.query_order("APQR00000001")
    alipay_sim.knobs.bad_signature_next = 1
    with pytest.raises(UntrustedResponse):
        await alipay.query_order("APQR00000001")
    assert (await alipay.query_order("APQR00000001")).status == "succeeded"


async def test_alipay_gateway_refuses_a_request_we_did_not_sign(
    alipay_sim: AlipaySimulator,
) -> None:
    config = AlipayConfig(
        app_id=ALIPAY_APP_ID, private_key=KeyPair.generate().private,
        alipay_public_key=alipay_sim.key.public, seller_id=SELLER_ID,
        gateway=f"{alipay_sim.base_url}/gateway.do", timeout=TIMEOUT,
    )  # fmt: skip
    impostor = AlipayProvider(config)
    try:
        with pytest.raises(ProviderRejected, match=r"isv\.invalid-signature"):
            await impostor.query_order("APQR00000001")
    finally:
        await impostor.aclose()


async def test_alipay_agreement_sign_and_charges(
    alipay: AlipayProvider, alipay_sim: AlipaySimulator, webhook: Webhook
) -> None:
    request = AgreementRequest(
        external_agreement_no="SUB20261201A", notify_url=webhook.notify_url("alipay"),
        single_amount=1990, first_charge_on=date(2026, 12, 1), return_url="https://example.com/r",
    )  # fmt: skip
    action = await alipay.sign_agreement(request)
    assert action.redirect_url is not None
    async with httpx.AsyncClient() as client:
        assert (await client.get(action.redirect_url)).status_code == 200  # the reader opens it
    agreement_no = alipay_sim.confirm_agreement("SUB20261201A")
    [delivery] = await alipay_sim.deliver()
    assert delivery.acked
    note = webhook.events[f"alipay:agreement:{agreement_no}:dut_user_sign"]
    assert (note.status, note.external_agreement_no) == ("signed", "SUB20261201A")
    webhook.orders["APRENEW00001"] = 1990
    charge = await alipay.charge_agreement(
        agreement_no,
        "APRENEW00001",
        1990,
        description="续费",
        notify_url=webhook.notify_url("alipay"),
    )
    assert (charge.status, charge.amount) == ("succeeded", 1990)
    await alipay_sim.deliver()
    assert webhook.credited["APRENEW00001"] == 1990
    too_much = await alipay.charge_agreement(agreement_no, "APRENEW00002", 1991, description="续费")
    assert (too_much.status, too_much.provider_status) == ("failed", "ACQ.EXCEED_SINGLE_AMOUNT")
    unknown = await alipay.charge_agreement(
        "20261201000000", "APRENEW00003", 100, description="续费"
    )
    assert unknown.status == "failed"
