"""WeChat Pay merchant transfers (商家转账, user-confirmation mode) and the trade bill, as pure
functions: the request bodies, the state mapping and the sensitive-field encryption. The HTTP
calls are in ``wechatpay.WechatPayProvider``.

- ``POST /v3/fund-app/mch-transfer/transfer-bills`` creates a bill under our ``out_bill_no``;
  the answer's ``state`` is usually ``WAIT_USER_CONFIRM`` with a ``package_info`` that the
  payee's WeChat client passes to ``wx.requestMerchantTransfer`` to confirm. Until the payee
  confirms, no money moves; a bill nobody confirms is closed by WeChat Pay after 24 hours
  (``FAIL``), or earlier by us (``.../out-bill-no/{no}/cancel`` → ``CANCELING`` →
  ``CANCELLED``).
- ``GET .../out-bill-no/{no}`` is the query; 404 ``NOT_FOUND`` means the bill was never created.
- ``user_name`` (the payee's real name; required from 2,000 yuan) is RSA-OAEP encrypted with
  WeChat Pay's public key, and the request names that key in ``Wechatpay-Serial``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sharestack.payments.providers._common import parse_rfc3339
from sharestack.payments.providers.transfers import TransferRequest, TransferState, TransferStatus

# From this amount on WeChat Pay requires the payee's real name (2,000.00 yuan).
REAL_NAME_FROM = 200_000
# Scene 1005 (佣金报酬) fits creator earnings; its two report fields are required.
DEFAULT_SCENE_ID = "1005"
DEFAULT_SCENE_REPORT: tuple[tuple[str, str], ...] = (
    ("岗位类型", "内容创作者"),
    ("报酬说明", "创作收益结算"),
)
DEFAULT_PERCEPTION = "劳务报酬"

STATES: Mapping[str, TransferStatus] = {
    "ACCEPTED": "pending",
    "PROCESSING": "pending",
    "TRANSFERING": "pending",  # the payee confirmed; the result is not final yet
    "WAIT_USER_CONFIRM": "awaiting_payee",
    "SUCCESS": "succeeded",
    "FAIL": "failed",
    "CANCELING": "cancelling",
    "CANCELLING": "cancelling",  # both spellings: the documentation uses CANCELING
    "CANCELLED": "cancelled",
}


def encrypt_sensitive(key: rsa.RSAPublicKey, text: str) -> str:
    """RSAES-OAEP with SHA-1 (what WeChat Pay documents for sensitive fields), base64."""
    cipher = key.encrypt(
        text.encode("utf-8"),
        padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None),  # noqa: S303
    )
    return base64.b64encode(cipher).decode("ascii")


def decrypt_sensitive(key: rsa.RSAPrivateKey, text: str) -> str:
    """WeChat Pay's side (simulator and tests)."""
    plain = key.decrypt(
        base64.b64decode(text),
        padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None),  # noqa: S303
    )
    return plain.decode("utf-8")


def transfer_body(
    request: TransferRequest,
    *,
    appid: str,
    scene_id: str = DEFAULT_SCENE_ID,
    scene_report: Sequence[tuple[str, str]] = DEFAULT_SCENE_REPORT,
    encrypted_name: str | None = None,
) -> dict[str, Any]:
    if request.identity_type != "openid":
        raise ValueError("WeChat Pay transfers go to an openid")
    if request.amount >= REAL_NAME_FROM and encrypted_name is None:
        raise ValueError("WeChat Pay requires the payee's real name from 2,000 yuan")
    body: dict[str, Any] = {
        "appid": appid,
        "out_bill_no": request.transfer_no,
        "transfer_scene_id": scene_id,
        "openid": request.identity,
        "transfer_amount": request.amount,
        "transfer_remark": request.remark[:32],
        "user_recv_perception": DEFAULT_PERCEPTION,
        "transfer_scene_report_infos": [
            {"info_type": kind, "info_content": content} for kind, content in scene_report
        ],
    }
    if encrypted_name is not None:
        body["user_name"] = encrypted_name
    if request.notify_url:
        body["notify_url"] = request.notify_url
    return body


def transfer_state(data: Mapping[str, Any], transfer_no: str) -> TransferState:
    provider_status = str(data.get("state", ""))
    status = STATES.get(provider_status, "pending")  # an unknown word is never final
    amount = data.get("transfer_amount")
    finished = provider_status in ("SUCCESS", "FAIL", "CANCELLED")
    return TransferState(
        transfer_no=str(data.get("out_bill_no") or transfer_no),
        status=status,
        provider_status=provider_status,
        provider_ref=_opt(data.get("transfer_bill_no")),
        amount=amount if type(amount) is int else None,
        package_info=_opt(data.get("package_info")) if status == "awaiting_payee" else None,
        failure_reason=_opt(data.get("fail_reason")),
        finished_at=parse_rfc3339(data.get("update_time")) if finished else None,
    )


def _opt(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
