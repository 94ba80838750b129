"""Alipay RSA2 signing strings, checked against the documented rule and against the maintained
SDK (python-alipay-sdk) as an oracle."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import pytest
from alipay import AliPay

from sharestack.payments.providers import _rsa
from sharestack.payments.providers import alipay_sign as sign
from sharestack.payments.providers.alipay import AlipayProvider
from sharestack.payments.providers.base import Order
from tests.support.payment_keys import KeyPair


@pytest.fixture(scope="module")
def sdk(merchant_key: KeyPair, alipay_key: KeyPair) -> AliPay:
    return AliPay(
        appid="2021000000000001",
        app_notify_url=None,
        app_private_key_string=merchant_key.private_pem.decode(),
        alipay_public_key_string=alipay_key.public_pem.decode(),
        sign_type="RSA2",
    )


def test_signing_string_is_sorted_and_skips_sign_and_empty_values() -> None:
    params = {
        "method": "alipay.trade.query",
        "app_id": "1",
        "sign": "x",
        "notify_url": "",
        "b": "2",
    }
    assert sign.signing_string(params) == "app_id=1&b=2&method=alipay.trade.query"


def test_request_signature_matches_the_sdk(merchant_key: KeyPair, sdk: AliPay) -> None:
    params = {
        "app_id": "2021000000000001",
        "method": "alipay.trade.precreate",
        "format": "JSON",
        "charset": "utf-8",
        "sign_type": "RSA2",
        "timestamp": "2026-12-01 18:30:00",
        "version": "1.0",
        "notify_url": "https://api.example.com/hooks/alipay",
        "biz_content": sign.biz_content(
            {"out_trade_no": "SS1", "total_amount": "0.01", "subject": "订阅"}
        ),
    }
    ours = sign.sign_params(merchant_key.private, params)["sign"]
    theirs = dict(parse_qsl(sdk.sign_data(dict(params))))["sign"]
    assert ours == theirs


def test_notification_signed_our_way_verifies_with_the_sdk(
    alipay_key: KeyPair, sdk: AliPay
) -> None:
    params = {
        "notify_type": "trade_status_sync",
        "total_amount": "19.90",
        "sign_type": "RSA2",
        "subject": "订阅",
    }
    signed = sign.sign_notification(alipay_key.private, params)
    signature = signed.pop("sign")
    assert sdk.verify(signed, signature)


def test_answer_text_is_located_exactly() -> None:
    body = (
        '{"alipay_trade_query_response" : {"code":"10000","msg":"Success",'
        '"subject":"a {tricky} \\"name\\"","total_amount":"1.00"},"sign":"SIG"}'
    )
    text, data, signature = sign.signed_response_text(body, "alipay.trade.query")
    assert text == body[body.index("{", 1) : body.index(',"sign"')]
    assert data["subject"] == 'a {tricky} "name"'
    assert signature == "SIG"


def test_answer_text_matches_the_sdk_locator(sdk: AliPay) -> None:
    body = '{"alipay_trade_precreate_response":{"code":"10000","qr_code":"https://qr.alipay.com/x"},"sign":"S"}'
    text, _, _ = sign.signed_response_text(body, "alipay.trade.precreate")
    assert text == sdk._get_string_to_be_signed(body, "alipay_trade_precreate_response")


def test_error_response_is_found_without_a_sign() -> None:
    body = (
        '{"error_response":{"code":"40002","msg":"Invalid Arguments",'
        '"sub_code":"isv.invalid-signature"}}'
    )
    _, data, signature = sign.signed_response_text(body, "alipay.trade.query")
    assert data["sub_code"] == "isv.invalid-signature"
    assert signature is None


def test_repeated_notification_parameter_is_refused() -> None:
    with pytest.raises(ValueError, match="repeated"):
        sign.notification_params(b"total_amount=1.00&total_amount=100.00")


async def test_page_pay_url_is_signed_redirect(
    alipay: AlipayProvider, merchant_key: KeyPair
) -> None:
    order = Order(
        out_trade_no="SS20261201P1", amount=1234, description="订阅", scene="page",
        notify_url="https://api.example.com/hooks/alipay", return_url="https://example.com/done",
    )  # fmt: skip
    action = await alipay.create_order(order)
    assert action.kind == "redirect"
    assert action.redirect_url is not None
    url = urlsplit(action.redirect_url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://openapi.alipay.com/gateway.do"
    params = dict(parse_qsl(url.query))
    assert params["method"] == "alipay.trade.page.pay"
    assert params["timestamp"] == "2025-12-01 18:30:00"  # Beijing time of the test clock
    assert params["return_url"] == "https://example.com/done"
    biz = json.loads(params["biz_content"])
    assert biz == {
        "out_trade_no": "SS20261201P1",
        "total_amount": "12.34",
        "subject": "订阅",
        "product_code": "FAST_INSTANT_TRADE_PAY",
    }
    assert _rsa.verify(merchant_key.public, sign.signing_string(params), params["sign"])
