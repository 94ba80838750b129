"""Alipay notifications (form posts, RSA2): accepted, mapped, and refused."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sharestack.payments.providers.alipay import AlipayProvider
from sharestack.payments.providers.base import NotificationRejected
from tests.support import payment_messages as msg
from tests.support.payment_keys import KeyPair
from tests.unit.payments.conftest import ALIPAY_APP_ID, NOW, SELLER_ID


def _trade(key: KeyPair, **overrides: str) -> tuple[dict[str, str], bytes]:
    params = msg.alipay_trade_params(
        app_id=ALIPAY_APP_ID, seller_id=SELLER_ID, out_trade_no="SS20261201A1",
        total_amount="19.90", now=NOW, extra={"notify_id": "ac05099524730693a8b330c5ecf72da9"},
    )  # fmt: skip
    params.update(overrides)
    return msg.alipay_form(key.private, params)


@pytest.fixture
def signed_trade(alipay_key: KeyPair) -> tuple[dict[str, str], bytes]:
    return _trade(alipay_key)


def _reason(alipay: AlipayProvider, headers: dict[str, str], body: bytes) -> str:
    with pytest.raises(NotificationRejected) as info:
        alipay.parse_notification(headers, body)
    return info.value.reason


def test_trade_success(alipay: AlipayProvider, alipay_key: KeyPair) -> None:
    note = alipay.parse_notification(*_trade(alipay_key))
    assert (note.kind, note.status, note.amount) == ("payment", "succeeded", 1990)
    assert note.event_key == "alipay:trade:SS20261201A1:TRADE_SUCCESS"
    assert note.provider_ref == "2026120122001400000000000001"
    note.verify_against("SS20261201A1", 1990)


def test_trade_finished_after_success_is_the_same_state_under_another_key(
    alipay: AlipayProvider, alipay_key: KeyPair
) -> None:
    success = alipay.parse_notification(*_trade(alipay_key))
    finished = alipay.parse_notification(*_trade(alipay_key, trade_status="TRADE_FINISHED"))
    assert finished.status == success.status == "succeeded"
    assert finished.event_key != success.event_key


@pytest.mark.parametrize(
    ("trade_status", "status"), [("WAIT_BUYER_PAY", "pending"), ("TRADE_CLOSED", "closed")]
)
def test_other_trade_statuses(
    alipay: AlipayProvider, alipay_key: KeyPair, trade_status: str, status: str
) -> None:
    assert (
        alipay.parse_notification(*_trade(alipay_key, trade_status=trade_status)).status == status
    )


def test_forged_signature(alipay: AlipayProvider) -> None:
    assert _reason(alipay, *_trade(KeyPair.generate())) == "bad_signature"


def test_amount_changed_after_signing(alipay: AlipayProvider, alipay_key: KeyPair) -> None:
    headers, body = _trade(alipay_key)
    params = dict(parse_qsl(body.decode()))
    params["total_amount"] = "0.01"
    assert _reason(alipay, headers, urlencode(params).encode()) == "bad_signature"


def test_rsa1_sign_type_is_refused(alipay: AlipayProvider, alipay_key: KeyPair) -> None:
    headers, body = _trade(alipay_key, sign_type="RSA")
    assert _reason(alipay, headers, body) == "bad_signature"


@pytest.mark.parametrize("field", ["app_id", "seller_id"])
def test_someone_elses_app_or_seller(
    alipay: AlipayProvider, alipay_key: KeyPair, field: str
) -> None:
    assert (
        _reason(alipay, *_trade(alipay_key, **{field: "2088000000000000"})) == "merchant_mismatch"
    )


@pytest.mark.parametrize("amount", ["1.001", "abc", "1e2", "-1.00", ""])
def test_amount_that_does_not_parse_exactly(
    alipay: AlipayProvider, alipay_key: KeyPair, amount: str
) -> None:
    assert _reason(alipay, *_trade(alipay_key, total_amount=amount)) == "malformed"


def test_amount_mismatch(alipay: AlipayProvider, alipay_key: KeyPair) -> None:
    note = alipay.parse_notification(*_trade(alipay_key, total_amount="0.01"))
    with pytest.raises(NotificationRejected) as info:
        note.verify_against("SS20261201A1", 1990)
    assert info.value.reason == "amount_mismatch"


def test_redelivery_has_the_same_event_key(alipay: AlipayProvider, alipay_key: KeyPair) -> None:
    assert (
        alipay.parse_notification(*_trade(alipay_key)).event_key
        == alipay.parse_notification(*_trade(alipay_key)).event_key
    )


@pytest.mark.parametrize("trade_status", ["TRADE_SUCCESS", "TRADE_CLOSED"])
def test_refund_arrives_as_trade_status_sync(
    alipay: AlipayProvider, alipay_key: KeyPair, trade_status: str
) -> None:
    extra = {"out_biz_no": "R1", "refund_fee": "5.00", "gmt_refund": "2025-12-01 19:00:00.123"}
    params = msg.alipay_trade_params(
        app_id=ALIPAY_APP_ID, seller_id=SELLER_ID, out_trade_no="SS20261201A1",
        total_amount="19.90", trade_status=trade_status, now=NOW, extra=extra,
    )  # fmt: skip
    note = alipay.parse_notification(*msg.alipay_form(alipay_key.private, params))
    assert (note.kind, note.status, note.out_refund_no) == ("refund", "succeeded", "R1")
    assert note.amount is None
    assert note.raw["refunded_total"] == 500
    assert note.event_key == "alipay:refund:SS20261201A1:R1"
    assert note.occurred_at is not None
    assert note.occurred_at.isoformat() == "2025-12-01T11:00:00.123000+00:00"
    note.verify_against("SS20261201A1", 500)  # only out_trade_no is compared for Alipay refunds


@pytest.mark.parametrize(
    ("notify_type", "status"), [("dut_user_sign", "signed"), ("dut_user_unsign", "unsigned")]
)
def test_agreement_notifications(
    alipay: AlipayProvider, alipay_key: KeyPair, notify_type: str, status: str
) -> None:
    params = msg.alipay_agreement_params(
        app_id=ALIPAY_APP_ID, agreement_no="20170322450983769228", external_agreement_no="SUB1",
        notify_type=notify_type, now=NOW,
    )  # fmt: skip
    note = alipay.parse_notification(*msg.alipay_form(alipay_key.private, params))
    assert (note.kind, note.status, note.agreement_no, note.external_agreement_no) == (
        "agreement",
        status,
        "20170322450983769228",
        "SUB1",
    )


def test_unknown_notify_type(alipay: AlipayProvider, alipay_key: KeyPair) -> None:
    assert _reason(alipay, *_trade(alipay_key, notify_type="fund_trans")) == "unsupported_event"


def test_not_a_form(alipay: AlipayProvider) -> None:
    assert _reason(alipay, {}, b"\xff\xfe") == "malformed"
    assert _reason(alipay, {}, b"a=1&a=2") == "malformed"


def test_ack(alipay: AlipayProvider) -> None:
    assert alipay.ack(True).body == b"success"
    assert alipay.ack(False).body == b"fail"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_tampered_byte_is_refused(
    alipay: AlipayProvider, signed_trade: tuple[dict[str, str], bytes], data: st.DataObject
) -> None:
    headers, body = signed_trade
    index = data.draw(st.integers(0, len(body) - 1))
    replacement = data.draw(st.sampled_from(b"0123456789abcdefXYZ%+=&."))
    if body[index] == replacement:
        return
    tampered = body[:index] + bytes([replacement]) + body[index + 1 :]
    try:
        note = alipay.parse_notification(headers, tampered)
    except NotificationRejected:
        return
    # A change that survives verification can only be one that decodes to the same parameters
    # (e.g. "+" and "%20" both mean a space).
    assert dict(parse_qsl(tampered.decode())) == dict(parse_qsl(body.decode()))
    assert note.amount == 1990
