"""Tencent Cloud SMS (``SendSms``, API version 2021-01-11), signed with TC3-HMAC-SHA256.

TC3: the canonical request (method, ``/``, empty query, the ``content-type`` and ``host``
headers, the SHA-256 of the JSON body) is hashed into
``TC3-HMAC-SHA256\\n<timestamp>\\n<date>/sms/tc3_request\\n<hash>``, signed with a key derived
``"TC3" + SecretKey`` → date → service → ``tc3_request``.

The answer is ``{"Response": {...}}``: ``Error`` for a refused call (``AuthFailure.*``,
``RequestLimitExceeded``, ``InternalError``), otherwise one ``SendStatusSet`` entry per number
whose ``Code`` is ``Ok`` or the reason (``LimitExceeded.PhoneNumberThirtySecondLimit``,
``InvalidParameterValue.IncorrectPhoneNumber``, ...).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from sharestack.sms.base import SmsError, SmsTemporaryError

SERVICE = "sms"
VERSION = "2021-01-11"
ALGORITHM = "TC3-HMAC-SHA256"
CONTENT_TYPE = "application/json; charset=utf-8"


def _retryable(code: str) -> bool:
    return code.startswith(
        ("RequestLimitExceeded", "LimitExceeded", "InternalError", "FailedOperation.Busy")
    ) or code in {"ResourceUnavailable", "ServiceUnavailable"}


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def tc3_string_to_sign(host: str, body: bytes, timestamp: int) -> tuple[str, str]:
    """The string to sign and the signed headers list, for a POST of ``body`` to ``host``."""
    signed_headers = "content-type;host"
    canonical_request = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{CONTENT_TYPE}\nhost:{host}\n",
            signed_headers,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    date = time.strftime("%Y-%m-%d", time.gmtime(timestamp))
    scope = f"{date}/{SERVICE}/tc3_request"
    to_sign = "\n".join(
        [ALGORITHM, str(timestamp), scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    return to_sign, signed_headers


def tc3_signature(secret_key: str, to_sign: str, timestamp: int) -> str:
    date = time.strftime("%Y-%m-%d", time.gmtime(timestamp))
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), SERVICE), "tc3_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class TencentSmsConfig:
    secret_id: str
    secret_key: str
    sdk_app_id: str
    sign_name: str
    template_id: str
    region: str = "ap-guangzhou"
    endpoint: str = "https://sms.tencentcloudapi.com"
    timeout: float = 10.0


class TencentSms:
    name = "tencent"

    def __init__(self, config: TencentSmsConfig, http: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self._http = http or httpx.AsyncClient(timeout=config.timeout)

    def signed_request(self, phone: str, code: str, timestamp: int) -> tuple[bytes, dict[str, str]]:
        c = self.config
        body = orjson.dumps(
            {
                "PhoneNumberSet": [phone],
                "SmsSdkAppId": c.sdk_app_id,
                "SignName": c.sign_name,
                "TemplateId": c.template_id,
                "TemplateParamSet": [code],
            }
        )
        host = urlsplit(c.endpoint).netloc
        to_sign, signed_headers = tc3_string_to_sign(host, body, timestamp)
        date = time.strftime("%Y-%m-%d", time.gmtime(timestamp))
        authorization = (
            f"{ALGORITHM} Credential={c.secret_id}/{date}/{SERVICE}/tc3_request, "
            f"SignedHeaders={signed_headers}, "
            f"Signature={tc3_signature(c.secret_key, to_sign, timestamp)}"
        )
        headers = {
            "Authorization": authorization,
            "Content-Type": CONTENT_TYPE,
            "Host": host,
            "X-TC-Action": "SendSms",
            "X-TC-Version": VERSION,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": c.region,
        }
        return body, headers

    async def send_code(self, phone: str, code: str) -> None:
        body, headers = self.signed_request(phone, code, int(time.time()))
        try:
            response = await self._http.post(
                self.config.endpoint.rstrip("/") + "/", content=body, headers=headers
            )
        except httpx.HTTPError as exc:
            raise SmsTemporaryError(self.name, "network", str(exc)) from exc
        if response.status_code >= 500:
            raise SmsTemporaryError(self.name, f"HTTP{response.status_code}", "")
        try:
            answer: dict[str, Any] = orjson.loads(response.content).get("Response", {})
        except (orjson.JSONDecodeError, AttributeError):
            raise SmsTemporaryError(self.name, "bad_response", response.text[:200]) from None
        error = answer.get("Error")
        statuses = answer.get("SendStatusSet") or []
        if error is None and statuses:
            status = statuses[0]
            if status.get("Code") == "Ok":
                return
            error = status
        error = error or {"Code": "empty_response", "Message": ""}
        result, message = str(error.get("Code")), str(error.get("Message", ""))
        if _retryable(result):
            raise SmsTemporaryError(self.name, result, message)
        raise SmsError(self.name, result, message)

    async def aclose(self) -> None:
        await self._http.aclose()
