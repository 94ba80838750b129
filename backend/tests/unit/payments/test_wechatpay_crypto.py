"""WeChat Pay v3 signing strings, checked against the documented format and against the
maintained SDK (wechatpayv3) as an oracle."""

from __future__ import annotations

import base64
import json
import time

import pytest
from wechatpayv3 import utils as sdk

from sharestack.payments.providers import _rsa
from sharestack.payments.providers import wechatpay_crypto as crypto
from tests.support.payment_keys import KeyPair


def test_request_message_is_five_lines_each_ending_in_newline() -> None:
    message = crypto.request_message(
        "GET", "/v3/certificates", "1554208460", "593BEC0C930BF1AFEB40B4A08C8FB242", ""
    )
    assert message == "GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n"


def test_query_string_is_part_of_the_signed_url() -> None:
    message = crypto.request_message(
        "GET", "/v3/pay/transactions/out-trade-no/A1?mchid=1900000109", "1", "N", ""
    )
    assert message.splitlines()[1] == "/v3/pay/transactions/out-trade-no/A1?mchid=1900000109"


def test_authorization_matches_the_sdk(
    merchant_key: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = json.dumps({"mchid": "1900000109", "description": "订阅 · 月付"}, ensure_ascii=False)
    monkeypatch.setattr(time, "time", lambda: 1554208460.4)
    expected = sdk.build_authorization(
        "/v3/pay/transactions/native", "POST", "1900000109", "SERIAL1", merchant_key.private,
        data=body, nonce_str="NONCE123",
    )  # fmt: skip
    ours = crypto.authorization(
        mchid="1900000109",
        serial_no="SERIAL1",
        key=merchant_key.private,
        method="POST",
        path="/v3/pay/transactions/native",
        body=body,
        timestamp="1554208460",
        nonce_str="NONCE123",
    )
    # Same fields and values; the order of the fields is free (the SDK orders them differently).
    assert crypto.parse_authorization(ours) == crypto.parse_authorization(expected)
    assert ours.startswith('WECHATPAY2-SHA256-RSA2048 mchid="1900000109",')


def test_response_signature_verifies_with_the_sdk(wechat_key: KeyPair) -> None:
    body = b'{"code_url":"weixin://wxpay/bizpayurl?pr=JyC91EIz1"}'
    headers = crypto.sign_response(wechat_key.private, "PUB_KEY_ID_1", body, "1722850421")
    assert sdk.rsa_verify(
        headers["Wechatpay-Timestamp"],
        headers["Wechatpay-Nonce"],
        body.decode(),
        headers["Wechatpay-Signature"],
        wechat_key.public,
    )


def test_empty_answer_signs_a_bare_newline_as_its_body() -> None:
    assert crypto.response_message("1", "N", b"") == b"1\nN\n\n"


def test_jsapi_pay_sign(merchant_key: KeyPair) -> None:
    params = crypto.sign_jsapi(merchant_key.private, "wx8888888888888888", "wx2014", "1414561699")
    assert params["package"] == "prepay_id=wx2014"
    assert params["signType"] == "RSA"
    message = "wx8888888888888888\n1414561699\n" + params["nonceStr"] + "\nprepay_id=wx2014\n"
    assert params["paySign"] == sdk.rsa_sign(merchant_key.private, message)
    assert _rsa.verify(merchant_key.public, message, params["paySign"])


def test_resource_decrypts_with_the_sdk() -> None:
    key = b"a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"
    resource = crypto.encrypt_resource(key, {"out_trade_no": "订单1"}, "transaction", "transaction")
    plain = sdk.aes_decrypt(
        resource["nonce"], resource["ciphertext"], resource["associated_data"], key.decode()
    )
    assert json.loads(plain) == {"out_trade_no": "订单1"}
    assert crypto.decrypt_resource(key, resource) == {"out_trade_no": "订单1"}


@pytest.mark.parametrize(
    "change",
    [
        {"associated_data": "refund"},
        {"nonce": "000000000000"},
        {"algorithm": "AES_128_CBC"},
        {"ciphertext": "not base64!"},
    ],
)
def test_resource_that_does_not_decrypt_is_refused(change: dict[str, str]) -> None:
    from sharestack.payments.providers.base import NotificationRejected

    key = b"a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"
    resource = crypto.encrypt_resource(key, {"a": 1}, "transaction", "transaction")
    with pytest.raises(NotificationRejected) as info:
        crypto.decrypt_resource(key, {**resource, **change})
    assert info.value.reason == "decrypt_failed"


def test_flipped_ciphertext_byte_fails_the_tag() -> None:
    from sharestack.payments.providers.base import NotificationRejected

    key = b"a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"
    resource = crypto.encrypt_resource(key, {"a": 1}, "transaction", "transaction")
    raw = bytearray(base64.b64decode(resource["ciphertext"]))
    raw[0] ^= 1
    with pytest.raises(NotificationRejected):
        crypto.decrypt_resource(key, {**resource, "ciphertext": base64.b64encode(raw).decode()})


def test_parse_authorization_refuses_other_schemas() -> None:
    with pytest.raises(ValueError, match="schema"):
        crypto.parse_authorization('Basic mchid="1"')
