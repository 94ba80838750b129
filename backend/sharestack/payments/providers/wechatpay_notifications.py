"""WeChat Pay notifications (signed like answers, ``resource`` encrypted with the APIv3 key)
and the mapping of WeChat Pay's states onto the port's, shared with the answers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sharestack.payments.providers import wechatpay_crypto as crypto
from sharestack.payments.providers._common import parse_rfc3339
from sharestack.payments.providers.base import (
    Notification,
    NotificationRejected,
    OrderState,
    OrderStatus,
    RefundState,
    RefundStatus,
)

NAME = "wechatpay"
_TRADE_STATES: dict[str, OrderStatus] = {
    "SUCCESS": "succeeded",
    "REFUND": "succeeded",
    "NOTPAY": "pending",
    "USERPAYING": "pending",
    "CLOSED": "closed",
    "REVOKED": "closed",
    "PAYERROR": "failed",
}
_REFUND_STATES: dict[str, RefundStatus] = {
    "SUCCESS": "succeeded",
    "PROCESSING": "pending",
    "CLOSED": "failed",
    "ABNORMAL": "failed",  # the buyer's card or account could not take it: needs a person
}


def parse(
    headers: dict[str, str],
    body: bytes,
    *,
    mchid: str,
    appid: str,
    apiv3_key: bytes,
    verifier: crypto.WechatPayVerifier,
    now: float,
) -> Notification:
    """``headers`` lower-cased. ``mchid`` and ``appid`` are compared here; the order's
    ``out_trade_no``, amount and currency by ``Notification.verify_against``."""
    reason = verifier.check(headers, body, now)
    if reason is not None:
        raise NotificationRejected(reason)
    try:
        envelope = json.loads(body)
        event_id, event_type = str(envelope["id"]), str(envelope["event_type"])
        resource = envelope["resource"]
    except (ValueError, KeyError, TypeError):
        raise NotificationRejected("malformed", "envelope") from None
    if envelope.get("resource_type") != "encrypt-resource" or not isinstance(resource, dict):
        raise NotificationRejected("malformed", "resource")
    data = crypto.decrypt_resource(apiv3_key, resource)
    # Payments and refunds name the merchant "mchid"; transfer bills "mch_id".
    if data.get("mchid", data.get("mch_id")) != mchid:
        raise NotificationRejected("merchant_mismatch", "mchid")
    key = f"{NAME}:{event_id}"
    if event_type.startswith("TRANSACTION."):
        if data.get("appid") != appid:
            raise NotificationRejected("merchant_mismatch", "appid")
        state = order_state(data)
        amount = data.get("amount") or {}
        if state.amount is None or not state.out_trade_no:
            raise NotificationRejected("malformed", "transaction without amount.total")
        return Notification(
            provider=NAME,
            event_key=key,
            kind="payment",
            status=state.status,
            out_trade_no=state.out_trade_no,
            amount=state.amount,
            currency=str(amount.get("currency", "CNY")),
            provider_ref=state.provider_ref,
            occurred_at=state.paid_at,
            raw=data,
        )
    if event_type.startswith("REFUND."):
        refund = refund_state(data)
        return Notification(
            provider=NAME,
            event_key=key,
            kind="refund",
            status=refund.status,
            out_trade_no=_opt_str(data.get("out_trade_no")),
            amount=refund.amount,
            currency=None,  # refund notifications carry no currency; CNY only
            provider_ref=refund.provider_ref,
            out_refund_no=refund.out_refund_no,
            occurred_at=refund.refunded_at,
            raw=data,
        )
    if event_type.startswith("MCHTRANSFER.BILL."):
        # A transfer bill reached a final state (SUCCESS, FAIL, CANCELLED). Verified like every
        # notification, but the payout is settled from a query, not from this message.
        transfer_no = _opt_str(data.get("out_bill_no"))
        if transfer_no is None:
            raise NotificationRejected("malformed", "transfer without out_bill_no")
        amount = data.get("transfer_amount")
        return Notification(
            provider=NAME,
            event_key=key,
            kind="transfer",
            status=str(data.get("state", "")),
            out_trade_no=None,
            amount=amount if type(amount) is int else None,
            transfer_no=transfer_no,
            raw=data,
        )
    raise NotificationRejected("unsupported_event", event_type)


def order_state(data: Mapping[str, Any]) -> OrderState:
    trade_state = str(data.get("trade_state", ""))
    amount = data.get("amount") or {}
    total = amount.get("total")
    return OrderState(
        out_trade_no=str(data.get("out_trade_no", "")),
        status=_TRADE_STATES.get(trade_state, "unknown"),
        provider_status=trade_state,
        provider_ref=_opt_str(data.get("transaction_id")),
        amount=total if type(total) is int else None,
        paid_at=parse_rfc3339(data.get("success_time")),
    )


def refund_state(data: Mapping[str, Any]) -> RefundState:
    # Answers name it "status", notifications "refund_status".
    status = str(data.get("status") or data.get("refund_status") or "")
    amount = (data.get("amount") or {}).get("refund")
    refunded_at: datetime | None = parse_rfc3339(data.get("success_time"))
    return RefundState(
        out_refund_no=str(data.get("out_refund_no", "")),
        status=_REFUND_STATES.get(status, "unknown"),
        provider_status=status,
        amount=amount if type(amount) is int else None,
        provider_ref=_opt_str(data.get("refund_id")),
        refunded_at=refunded_at,
    )


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
