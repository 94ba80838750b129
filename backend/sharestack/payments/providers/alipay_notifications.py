"""Alipay notifications: form-encoded POSTs signed RSA2 by Alipay (``sign`` over the sorted
parameters without ``sign`` and ``sign_type``). The decisions (TRADE_FINISHED as a no-op,
refunds as ``trade_status_sync``, no freshness window) are explained in ``alipay.py``."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import rsa

from sharestack.payments.providers import alipay_sign as sign
from sharestack.payments.providers._common import parse_china_time
from sharestack.payments.providers.base import Notification, NotificationRejected, OrderStatus
from sharestack.payments.providers.money import InvalidAmount, yuan_to_fen

NAME = "alipay"
TRADE_STATUS: dict[str, OrderStatus] = {
    "WAIT_BUYER_PAY": "pending",
    "TRADE_SUCCESS": "succeeded",
    "TRADE_FINISHED": "succeeded",
    "TRADE_CLOSED": "closed",
}
_AGREEMENT_NOTIFY = {"dut_user_sign": "signed", "dut_user_unsign": "unsigned"}


def parse(
    body: bytes, *, app_id: str, seller_id: str, public_key: rsa.RSAPublicKey
) -> Notification:
    try:
        params = sign.notification_params(body)
    except (UnicodeDecodeError, ValueError):
        raise NotificationRejected("malformed", "form body") from None
    if params.get("sign_type", "RSA2") != "RSA2":
        raise NotificationRejected("bad_signature", "sign_type")
    if not sign.verify_notification(public_key, params):
        raise NotificationRejected("bad_signature")
    if params.get("app_id") != app_id:
        raise NotificationRejected("merchant_mismatch", "app_id")
    notify_type = params.get("notify_type", "")
    occurred_at = parse_china_time(params.get("notify_time"))
    if notify_type in _AGREEMENT_NOTIFY:
        agreement_no = params.get("agreement_no", "")
        if not agreement_no:
            raise NotificationRejected("malformed", "agreement_no")
        return Notification(
            provider=NAME,
            event_key=f"{NAME}:agreement:{agreement_no}:{notify_type}",
            kind="agreement",
            status=_AGREEMENT_NOTIFY[notify_type],
            out_trade_no=None,
            amount=None,
            currency=None,
            agreement_no=agreement_no,
            external_agreement_no=_opt(params.get("external_agreement_no")),
            occurred_at=occurred_at,
            raw=params,
        )
    if notify_type != "trade_status_sync":
        raise NotificationRejected("unsupported_event", notify_type)
    if params.get("seller_id") != seller_id:
        raise NotificationRejected("merchant_mismatch", "seller_id")
    out_trade_no = params.get("out_trade_no", "")
    trade_status = params.get("trade_status", "")
    if not out_trade_no or trade_status not in TRADE_STATUS:
        raise NotificationRejected("malformed", "out_trade_no / trade_status")
    try:
        total = yuan_to_fen(params.get("total_amount", ""))
        refunded = yuan_to_fen(params["refund_fee"]) if params.get("refund_fee") else None
    except InvalidAmount as exc:
        raise NotificationRejected("malformed", str(exc)) from None
    if params.get("out_biz_no") and refunded is not None:
        return Notification(
            provider=NAME,
            event_key=f"{NAME}:refund:{out_trade_no}:{params['out_biz_no']}",
            kind="refund",
            status="succeeded",
            out_trade_no=out_trade_no,
            amount=None,
            currency=None,
            provider_ref=_opt(params.get("trade_no")),
            out_refund_no=params["out_biz_no"],
            occurred_at=parse_china_time(params.get("gmt_refund")) or occurred_at,
            raw={**params, "refunded_total": refunded},
        )
    return Notification(
        provider=NAME,
        event_key=f"{NAME}:trade:{out_trade_no}:{trade_status}",
        kind="payment",
        status=TRADE_STATUS[trade_status],
        out_trade_no=out_trade_no,
        amount=total,
        provider_ref=_opt(params.get("trade_no")),
        occurred_at=parse_china_time(params.get("gmt_payment")) or occurred_at,
        raw=params,
    )


def _opt(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
