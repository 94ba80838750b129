"""WeChat Pay notifications: what is accepted, and every way a forged, stale or foreign one is
refused."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sharestack.metrics.registry import PAYMENT_NOTIFICATIONS_REJECTED
from sharestack.payments.providers.base import NotificationRejected
from sharestack.payments.providers.wechatpay import WechatPayProvider
from tests.support import payment_messages as msg
from tests.support.payment_keys import KeyPair
from tests.unit.payments.conftest import (
    APIV3_KEY,
    APPID,
    MCHID,
    NOW,
    PLATFORM_SERIAL,
    PUB_KEY_ID,
)


def _notification(
    key: KeyPair,
    *,
    serial: str = PUB_KEY_ID,
    timestamp: float = NOW,
    mchid: str = MCHID,
    appid: str = APPID,
    total: int = 1990,
    event_id: str = "EV-2018022511223320873",
) -> tuple[dict[str, str], bytes]:
    resource = msg.wechat_transaction(
        mchid=mchid, appid=appid, out_trade_no="SS20261201A1", total=total
    )
    return msg.wechat_notification(
        apiv3_key=APIV3_KEY,
        key=key.private,
        serial=serial,
        resource=resource,
        timestamp=int(timestamp),
        event_id=event_id,
    )


@pytest.fixture
def signed(wechat_key: KeyPair) -> tuple[dict[str, str], bytes]:
    return _notification(wechat_key)


def _reason(wechat: WechatPayProvider, headers: dict[str, str], body: bytes) -> str:
    with pytest.raises(NotificationRejected) as info:
        wechat.parse_notification(headers, body)
    return info.value.reason


def test_payment_notification_in_public_key_mode(
    wechat: WechatPayProvider, wechat_key: KeyPair
) -> None:
    headers, body = _notification(wechat_key)
    note = wechat.parse_notification(headers, body)
    assert note.kind == "payment"
    assert note.status == "succeeded"
    assert note.out_trade_no == "SS20261201A1"
    assert note.amount == 1990
    assert note.event_key == "wechatpay:EV-2018022511223320873"
    assert note.provider_ref is not None
    assert note.provider_ref.startswith("4200")
    note.verify_against("SS20261201A1", 1990, "CNY")


def test_platform_certificate_mode_and_lower_case_headers(
    wechat: WechatPayProvider, wechat_key: KeyPair
) -> None:
    headers, body = _notification(wechat_key, serial=f"{PLATFORM_SERIAL:X}")
    lowered = {k.lower(): v for k, v in headers.items()}
    assert wechat.parse_notification(lowered, body).status == "succeeded"


def test_a_redelivery_has_the_same_event_key(
    wechat: WechatPayProvider, wechat_key: KeyPair
) -> None:
    first = wechat.parse_notification(*_notification(wechat_key))
    again = wechat.parse_notification(*_notification(wechat_key, timestamp=NOW + 60))
    assert first.event_key == again.event_key  # the unique index turns it into a no-op


def test_forged_signature(wechat: WechatPayProvider) -> None:
    assert _reason(wechat, *_notification(KeyPair.generate())) == "bad_signature"


def test_unknown_key_id(wechat: WechatPayProvider, wechat_key: KeyPair) -> None:
    headers, body = _notification(wechat_key, serial="PUB_KEY_ID_SOMEONE_ELSE")
    assert _reason(wechat, headers, body) == "unknown_key"
    headers, body = _notification(wechat_key, serial="ABCDEF")
    assert _reason(wechat, headers, body) == "unknown_key"


@pytest.mark.parametrize(("age", "accepted"), [(299, True), (301, False), (-301, False)])
def test_timestamp_window(
    wechat: WechatPayProvider, wechat_key: KeyPair, age: int, accepted: bool
) -> None:
    headers, body = _notification(wechat_key, timestamp=NOW - age)
    if accepted:
        wechat.parse_notification(headers, body)
    else:
        assert _reason(wechat, headers, body) == "expired"


def test_signature_probe_is_counted_not_logged(
    wechat: WechatPayProvider, wechat_key: KeyPair, caplog: pytest.LogCaptureFixture
) -> None:
    headers, body = _notification(wechat_key)
    headers["Wechatpay-Signature"] = "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"]
    counter = PAYMENT_NOTIFICATIONS_REJECTED.labels("wechatpay", "signature_probe")
    before = counter._value.get()
    with caplog.at_level(logging.WARNING):
        assert _reason(wechat, headers, body) == "signature_probe"
    assert counter._value.get() == before + 1
    assert caplog.records == []
    assert wechat.ack(False).status >= 400


def test_a_forged_notification_is_logged(
    wechat: WechatPayProvider, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        _reason(wechat, *_notification(KeyPair.generate()))
    assert "bad_signature" in caplog.text


@pytest.mark.parametrize(
    "missing", ["Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Serial"]
)
def test_missing_header(wechat: WechatPayProvider, wechat_key: KeyPair, missing: str) -> None:
    headers, body = _notification(wechat_key)
    del headers[missing]
    assert _reason(wechat, headers, body) == "malformed"


def test_wrong_mchid_or_appid(wechat: WechatPayProvider, wechat_key: KeyPair) -> None:
    assert _reason(wechat, *_notification(wechat_key, mchid="1230000109")) == "merchant_mismatch"
    assert (
        _reason(wechat, *_notification(wechat_key, appid="wx0000000000000000"))
        == "merchant_mismatch"
    )


def test_encrypted_with_another_apiv3_key(wechat: WechatPayProvider, wechat_key: KeyPair) -> None:
    resource = msg.wechat_transaction(
        mchid=MCHID, appid=APPID, out_trade_no="SS20261201A1", total=1
    )
    headers, body = msg.wechat_notification(
        apiv3_key=b"0" * 32,
        key=wechat_key.private,
        serial=PUB_KEY_ID,
        resource=resource,
        timestamp=int(NOW),
    )
    assert _reason(wechat, headers, body) == "decrypt_failed"


def test_amount_or_order_mismatch_is_refused_by_verify_against(
    wechat: WechatPayProvider, wechat_key: KeyPair
) -> None:
    note = wechat.parse_notification(*_notification(wechat_key, total=1))
    with pytest.raises(NotificationRejected) as info:
        note.verify_against("SS20261201A1", 1990)
    assert info.value.reason == "amount_mismatch"
    with pytest.raises(NotificationRejected) as info:
        note.verify_against("SS20261201B2", 1)
    assert info.value.reason == "out_trade_no_mismatch"
    with pytest.raises(NotificationRejected) as info:
        note.verify_against("SS20261201A1", 1, "USD")
    assert info.value.reason == "currency_mismatch"


def test_refund_notification(wechat: WechatPayProvider, wechat_key: KeyPair) -> None:
    resource = msg.wechat_refund(
        mchid=MCHID, out_trade_no="SS20261201A1", out_refund_no="R1", refund=500, total=1990
    )
    headers, body = msg.wechat_notification(
        apiv3_key=APIV3_KEY, key=wechat_key.private, serial=PUB_KEY_ID, resource=resource,
        timestamp=int(NOW), event_type="REFUND.SUCCESS",
    )  # fmt: skip
    note = wechat.parse_notification(headers, body)
    assert (note.kind, note.status, note.amount, note.out_refund_no) == (
        "refund",
        "succeeded",
        500,
        "R1",
    )
    note.verify_against("SS20261201A1", 500)


def test_unknown_event_type(wechat: WechatPayProvider, wechat_key: KeyPair) -> None:
    resource = msg.wechat_transaction(
        mchid=MCHID, appid=APPID, out_trade_no="SS20261201A1", total=1
    )
    headers, body = msg.wechat_notification(
        apiv3_key=APIV3_KEY, key=wechat_key.private, serial=PUB_KEY_ID, resource=resource,
        timestamp=int(NOW), event_type="PROFITSHARING.FINISHED",
    )  # fmt: skip
    assert _reason(wechat, headers, body) == "unsupported_event"
    # A transfer notification must name the bill.
    headers, body = msg.wechat_notification(
        apiv3_key=APIV3_KEY, key=wechat_key.private, serial=PUB_KEY_ID, resource=resource,
        timestamp=int(NOW), event_type="MCHTRANSFER.BILL.FINISHED",
    )  # fmt: skip
    assert _reason(wechat, headers, body) == "malformed"


def test_transfer_notification(wechat: WechatPayProvider, wechat_key: KeyPair) -> None:
    resource = {"mch_id": MCHID, "out_bill_no": "ssp0000000000000007", "state": "SUCCESS",
                "transfer_amount": 5_000}  # fmt: skip
    headers, body = msg.wechat_notification(
        apiv3_key=APIV3_KEY, key=wechat_key.private, serial=PUB_KEY_ID, resource=resource,
        timestamp=int(NOW), event_type="MCHTRANSFER.BILL.FINISHED",
    )  # fmt: skip
    note = wechat.parse_notification(headers, body)
    assert (note.kind, note.transfer_no, note.status, note.amount) == (
        "transfer",
        "ssp0000000000000007",
        "SUCCESS",
        5_000,
    )
    other = msg.wechat_notification(
        apiv3_key=APIV3_KEY, key=wechat_key.private, serial=PUB_KEY_ID,
        resource={**resource, "mch_id": "1900000999"}, timestamp=int(NOW),
        event_type="MCHTRANSFER.BILL.FINISHED",
    )  # fmt: skip
    assert _reason(wechat, *other) == "merchant_mismatch"


def test_ack() -> None:
    from sharestack.payments.providers.wechatpay import WechatPayProvider as P

    assert P.ack(None, True) == (204, {}, b"")  # type: ignore[arg-type]
    status, _, body = P.ack(None, False)  # type: ignore[arg-type]
    assert status == 500
    assert json.loads(body)["code"] == "FAIL"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_tampered_byte_is_refused(
    wechat: WechatPayProvider, signed: tuple[dict[str, str], bytes], data: st.DataObject
) -> None:
    headers, body = signed
    index = data.draw(st.integers(0, len(body) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = bytearray(body)
    tampered[index] ^= flip
    with pytest.raises(NotificationRejected):
        wechat.parse_notification(headers, bytes(tampered))
