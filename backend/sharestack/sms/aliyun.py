"""Alibaba Cloud SMS (dysmsapi ``SendSms``, API version 2017-05-25), RPC style.

Request signing is Alibaba Cloud's RPC signature (SignatureVersion 1.0, HMAC-SHA1): the common
and the API parameters, sorted by name and percent-encoded per RFC 3986, are joined into
``GET&%2F&<encoded canonical query>`` and signed with ``AccessKeySecret + "&"``.

A verification-code template (``SMS_...``) takes one variable, ``${code}``. The answer's ``Code``
is ``OK`` on success; flow control (``isv.BUSINESS_LIMIT_CONTROL``, ``isv.DAY_LIMIT_CONTROL``) and
server trouble (``isp.SYSTEM_ERROR``) are worth a retry, everything else (an invalid number, a
template or signature refused, a wrong key) is not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from sharestack.sms.base import SmsError, SmsTemporaryError

VERSION = "2017-05-25"
RETRYABLE = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",
        "isv.DAY_LIMIT_CONTROL",
        "isp.SYSTEM_ERROR",
        "Throttling",
        "Throttling.User",
        "ServiceUnavailable",
    }
)


def percent_encode(value: str) -> str:
    # RFC 3986 unreserved characters stay; space is %20, ``*`` is %2A and ``~`` is kept.
    return quote(value, safe="-_.~")


def string_to_sign(method: str, params: dict[str, str]) -> str:
    canonical = "&".join(
        f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items())
    )
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"


def rpc_signature(secret: str, method: str, params: dict[str, str]) -> str:
    digest = hmac.new(
        f"{secret}&".encode(), string_to_sign(method, params).encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode()


def aliyun_number(phone: str) -> str:
    """Mainland numbers go without their country code; others as digits with it (no ``+``)."""
    return phone[3:] if phone.startswith("+86") else phone.lstrip("+")


@dataclass(frozen=True)
class AliyunSmsConfig:
    access_key_id: str
    access_key_secret: str
    sign_name: str
    template_code: str
    endpoint: str = "https://dysmsapi.aliyuncs.com"
    region_id: str = "cn-hangzhou"
    timeout: float = 10.0


class AliyunSms:
    name = "aliyun"

    def __init__(self, config: AliyunSmsConfig, http: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self._http = http or httpx.AsyncClient(timeout=config.timeout)

    def signed_params(self, phone: str, code: str) -> dict[str, str]:
        c = self.config
        params = {
            "Action": "SendSms",
            "Version": VERSION,
            "Format": "JSON",
            "RegionId": c.region_id,
            "AccessKeyId": c.access_key_id,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "SignatureNonce": secrets.token_hex(16),
            "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "PhoneNumbers": aliyun_number(phone),
            "SignName": c.sign_name,
            "TemplateCode": c.template_code,
            "TemplateParam": orjson.dumps({"code": code}).decode(),
        }
        params["Signature"] = rpc_signature(c.access_key_secret, "GET", params)
        return params

    async def send_code(self, phone: str, code: str) -> None:
        try:
            response = await self._http.get(
                self.config.endpoint.rstrip("/") + "/", params=self.signed_params(phone, code)
            )
        except httpx.HTTPError as exc:
            raise SmsTemporaryError(self.name, "network", str(exc)) from exc
        try:
            body: dict[str, Any] = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            body = {}
        result = str(body.get("Code", f"HTTP{response.status_code}"))
        if result == "OK":
            return
        message = str(body.get("Message", ""))
        if result in RETRYABLE or response.status_code >= 500:
            raise SmsTemporaryError(self.name, result, message)
        raise SmsError(self.name, result, message)

    async def aclose(self) -> None:
        await self._http.aclose()
