"""Alipay single transfers (``alipay.fund.trans.uni.transfer``, 单笔转账到支付宝账户) and their
query (``alipay.fund.trans.common.query``), as pure functions; the calls are in
``alipay.AlipayProvider``.

- ``product_code`` ``TRANS_ACCOUNT_NO_PWD`` with ``biz_scene`` ``DIRECT_TRANSFER``: no payee
  confirmation, the answer is usually final (``SUCCESS``); ``DEALING`` is not final, ``FAIL`` is,
  and ``REFUND`` means the transfer bounced back to us (final, no money with the payee).
- ``payee_info``: ``ALIPAY_USER_ID`` (2088...) or ``ALIPAY_LOGON_ID`` (email or phone); a logon
  id needs the payee's real ``name``, which Alipay checks against the account.
- ``out_biz_no`` is idempotent at Alipay: a repeat with the same number returns the first
  transfer. ``SYSTEM_ERROR`` (and gateway code 20000) leaves the outcome unknown: query.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sharestack.payments.providers._common import parse_china_time
from sharestack.payments.providers.money import InvalidAmount, fen_to_yuan, yuan_to_fen
from sharestack.payments.providers.transfers import TransferRequest, TransferState, TransferStatus

PRODUCT_CODE = "TRANS_ACCOUNT_NO_PWD"
BIZ_SCENE = "DIRECT_TRANSFER"
ORDER_TITLE = "ShareStack 创作收益"

IDENTITY_TYPES = {"alipay_user_id": "ALIPAY_USER_ID", "alipay_logon_id": "ALIPAY_LOGON_ID"}

STATES: Mapping[str, TransferStatus] = {
    "SUCCESS": "succeeded",
    "DEALING": "pending",
    "INIT": "pending",
    "WAIT_PAY": "pending",
    "FAIL": "failed",
    "REFUND": "failed",
    "CLOSED": "failed",
}
# Business errors after which the outcome is unknown: query, do not conclude.
UNKNOWN_OUTCOME = frozenset({"SYSTEM_ERROR", "AQC.SYSTEM_ERROR", "ACQ.SYSTEM_ERROR"})


def transfer_biz(request: TransferRequest) -> dict[str, Any]:
    identity_type = IDENTITY_TYPES.get(request.identity_type)
    if identity_type is None:
        raise ValueError("Alipay transfers go to an Alipay user id or logon id")
    if identity_type == "ALIPAY_LOGON_ID" and not request.real_name:
        raise ValueError("Alipay requires the payee's real name for a logon id")
    payee: dict[str, str] = {"identity": request.identity, "identity_type": identity_type}
    if request.real_name:
        payee["name"] = request.real_name
    return {
        "out_biz_no": request.transfer_no,
        "trans_amount": fen_to_yuan(request.amount),
        "product_code": PRODUCT_CODE,
        "biz_scene": BIZ_SCENE,
        "order_title": ORDER_TITLE,
        "payee_info": payee,
        "remark": request.remark[:200],
    }


def query_biz(transfer_no: str) -> dict[str, str]:
    return {"out_biz_no": transfer_no, "product_code": PRODUCT_CODE, "biz_scene": BIZ_SCENE}


def transfer_state(data: Mapping[str, Any], transfer_no: str) -> TransferState:
    provider_status = str(data.get("status", ""))
    status = STATES.get(provider_status, "pending")
    amount = None
    if isinstance(data.get("trans_amount"), str):
        try:
            amount = yuan_to_fen(data["trans_amount"])
        except InvalidAmount:
            amount = None
    reason = data.get("fail_reason") or data.get("error_code")
    return TransferState(
        transfer_no=str(data.get("out_biz_no") or transfer_no),
        status=status,
        provider_status=provider_status,
        provider_ref=_opt(data.get("order_id")),
        amount=amount,
        failure_reason=str(reason) if reason else None,
        finished_at=parse_china_time(data.get("trans_date") or data.get("pay_date")),
    )


def _opt(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
