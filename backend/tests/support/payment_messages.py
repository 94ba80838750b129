"""Notifications as the providers build them (the providers' side of the wire), for the unit
tests and the simulators. Pure functions: no I/O."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives.asymmetric import rsa

from sharestack.payments.providers import alipay_sign, wechatpay_crypto
from sharestack.payments.providers._common import china_timestamp


def wechat_transaction(
    *,
    mchid: str,
    appid: str,
    out_trade_no: str,
    total: int,
    trade_state: str = "SUCCESS",
    transaction_id: str | None = None,
) -> dict[str, Any]:
    return {
        "appid": appid,
        "mchid": mchid,
        "out_trade_no": out_trade_no,
        "transaction_id": transaction_id or "4200" + secrets.token_hex(12),
        "trade_type": "NATIVE",
        "trade_state": trade_state,
        "trade_state_desc": "支付成功" if trade_state == "SUCCESS" else trade_state,
        "bank_type": "OTHERS",
        "success_time": "2026-12-01T10:34:56+08:00" if trade_state == "SUCCESS" else "",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {
            "total": total,
            "payer_total": total,
            "currency": "CNY",
            "payer_currency": "CNY",
        },
    }


def wechat_refund(
    *, mchid: str, out_trade_no: str, out_refund_no: str, refund: int, total: int
) -> dict[str, Any]:
    return {
        "mchid": mchid,
        "out_trade_no": out_trade_no,
        "transaction_id": "4200" + secrets.token_hex(12),
        "out_refund_no": out_refund_no,
        "refund_id": "5030" + secrets.token_hex(12),
        "refund_status": "SUCCESS",
        "success_time": "2026-12-01T11:00:00+08:00",
        "user_received_account": "支付用户零钱",
        "amount": {"total": total, "refund": refund, "payer_total": total, "payer_refund": refund},
    }


def wechat_notification(
    *,
    apiv3_key: bytes,
    key: rsa.RSAPrivateKey,
    serial: str,
    resource: Mapping[str, Any],
    timestamp: int,
    event_type: str = "TRANSACTION.SUCCESS",
    event_id: str | None = None,
) -> tuple[dict[str, str], bytes]:
    original = "refund" if event_type.startswith("REFUND.") else "transaction"
    envelope = {
        "id": event_id or "EV-" + secrets.token_hex(10),
        "create_time": "2026-12-01T10:34:56+08:00",
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": "支付成功",
        "resource": wechatpay_crypto.encrypt_resource(apiv3_key, resource, original, original),
    }
    body = json.dumps(envelope, ensure_ascii=False).encode()
    headers = wechatpay_crypto.sign_response(key, serial, body, str(timestamp))
    headers["Content-Type"] = "application/json"
    return headers, body


def alipay_trade_params(
    *,
    app_id: str,
    seller_id: str,
    out_trade_no: str,
    total_amount: str,
    trade_status: str = "TRADE_SUCCESS",
    now: float,
    trade_no: str = "2026120122001400000000000001",
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    params = {
        "notify_time": china_timestamp(now),
        "notify_type": "trade_status_sync",
        "notify_id": "ac05099524730693a8b330c5ecf72da" + secrets.token_hex(2),
        "charset": "utf-8",
        "version": "1.0",
        "sign_type": "RSA2",
        "app_id": app_id,
        "auth_app_id": app_id,
        "trade_no": trade_no,
        "out_trade_no": out_trade_no,
        "buyer_id": "2088102122524333",
        "seller_id": seller_id,
        "trade_status": trade_status,
        "total_amount": total_amount,
        "receipt_amount": total_amount,
        "buyer_pay_amount": total_amount,
        "subject": "订阅",
        "gmt_create": china_timestamp(now - 30),
        "gmt_payment": china_timestamp(now - 5),
    }
    params.update(extra or {})
    return params


def alipay_agreement_params(
    *, app_id: str, agreement_no: str, external_agreement_no: str, notify_type: str, now: float
) -> dict[str, str]:
    return {
        "notify_time": china_timestamp(now),
        "notify_type": notify_type,
        "notify_id": secrets.token_hex(16),
        "charset": "utf-8",
        "version": "1.0",
        "sign_type": "RSA2",
        "app_id": app_id,
        "auth_app_id": app_id,
        "agreement_no": agreement_no,
        "external_agreement_no": external_agreement_no,
        "personal_product_code": "CYCLE_PAY_AUTH_P",
        "sign_scene": "INDUSTRY|DIGITAL_MEDIA",
        "status": "NORMAL" if notify_type == "dut_user_sign" else "UNSIGN",
        "alipay_user_id": "2088101122675263",
        "sign_time": china_timestamp(now),
    }


def alipay_form(key: rsa.RSAPrivateKey, params: Mapping[str, str]) -> tuple[dict[str, str], bytes]:
    signed = alipay_sign.sign_notification(key, params)
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    return headers, urlencode(signed).encode()
