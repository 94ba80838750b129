"""Aliyun SMS and Tencent Cloud SMS simulators: real HTTP servers on loopback (``serve`` in
``payment_simulators``) that check each request's signature the way the providers do, and keep
the codes they were asked to send.

``fail_next`` makes the next send answer with a provider error code (flow control, an invalid
number) to drive the adapters' error handling."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def _enc(value: str) -> str:
    return quote(value, safe="-_.~")


@dataclass
class AliyunSmsSimulator:
    """dysmsapi ``SendSms`` (RPC, SignatureVersion 1.0, HMAC-SHA1)."""

    access_key_id: str
    access_key_secret: str
    sent: list[dict[str, Any]] = field(default_factory=list)
    fail_next: list[str] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/", self.handle, methods=["GET"])])

    def _expected_signature(self, params: dict[str, str]) -> str:
        # Written from the specification, independently of sharestack.sms.aliyun.
        pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
        query = "&".join(f"{_enc(k)}={_enc(v)}" for k, v in pairs)
        to_sign = "GET&%2F&" + _enc(query)
        key = (self.access_key_secret + "&").encode()
        return base64.b64encode(hmac.new(key, to_sign.encode(), hashlib.sha1).digest()).decode()

    async def handle(self, request: Request) -> JSONResponse:
        params = dict(request.query_params)
        rid = {"RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990"}
        if params.get("AccessKeyId") != self.access_key_id:
            return JSONResponse(
                rid | {"Code": "InvalidAccessKeyId.NotFound", "Message": "no such key"}, 404
            )
        if not hmac.compare_digest(params.get("Signature", ""), self._expected_signature(params)):
            return JSONResponse(
                rid
                | {
                    "Code": "SignatureDoesNotMatch",
                    "Message": "Specified signature is not matched",
                },
                400,
            )
        missing = [
            k
            for k in ("PhoneNumbers", "SignName", "TemplateCode", "TemplateParam", "SignatureNonce")
            if not params.get(k)
        ]
        if missing or params.get("Action") != "SendSms" or params.get("Version") != "2017-05-25":
            return JSONResponse(rid | {"Code": "MissingParameter", "Message": str(missing)}, 400)
        if self.fail_next:
            code = self.fail_next.pop(0)
            return JSONResponse(rid | {"Code": code, "Message": "simulated"})
        self.sent.append(params | {"code": orjson.loads(params["TemplateParam"])["code"]})
        return JSONResponse(rid | {"Code": "OK", "Message": "OK", "BizId": "9006197469364984400"})


@dataclass
class TencentSmsSimulator:
    """``SendSms`` 2021-01-11 with TC3-HMAC-SHA256."""

    secret_id: str
    secret_key: str
    sdk_app_id: str
    sent: list[dict[str, Any]] = field(default_factory=list)
    fail_next: list[str] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/", self.handle, methods=["POST"])])

    def _signature(self, request: Request, body: bytes, timestamp: int) -> str:
        date = time.strftime("%Y-%m-%d", time.gmtime(timestamp))
        headers = "content-type;host"
        canonical = (
            f"POST\n/\n\ncontent-type:{request.headers.get('content-type', '')}\n"
            f"host:{request.headers.get('host', '')}\n\n{headers}\n"
            + hashlib.sha256(body).hexdigest()
        )
        to_sign = (
            f"TC3-HMAC-SHA256\n{timestamp}\n{date}/sms/tc3_request\n"
            + hashlib.sha256(canonical.encode()).hexdigest()
        )

        def sign(key: bytes, msg: str) -> bytes:
            return hmac.new(key, msg.encode(), hashlib.sha256).digest()

        key = sign(sign(sign(("TC3" + self.secret_key).encode(), date), "sms"), "tc3_request")
        return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def _error(code: str, message: str) -> JSONResponse:
        return JSONResponse(
            {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "r-1"}}
        )

    async def handle(self, request: Request) -> JSONResponse:
        body = await request.body()
        auth = request.headers.get("authorization", "")
        try:
            timestamp = int(request.headers.get("x-tc-timestamp", ""))
            credential = auth.split("Credential=", 1)[1].split(",", 1)[0]
            signature = auth.rsplit("Signature=", 1)[1]
        except (ValueError, IndexError):
            return self._error("AuthFailure.InvalidAuthorization", "bad Authorization")
        if abs(time.time() - timestamp) > 300:
            return self._error("AuthFailure.SignatureExpire", "expired")
        if credential.split("/", 1)[0] != self.secret_id:
            return self._error("AuthFailure.SecretIdNotFound", "no such secret id")
        if not hmac.compare_digest(signature, self._signature(request, body, timestamp)):
            return self._error("AuthFailure.SignatureFailure", "signature is not correct")
        if request.headers.get("x-tc-action") != "SendSms":
            return self._error("InvalidAction", "unknown action")
        payload = orjson.loads(body)
        if payload.get("SmsSdkAppId") != self.sdk_app_id:
            return self._error("FailedOperation.SmsSdkAppIdVerifyFail", "bad SdkAppId")
        phone = payload["PhoneNumberSet"][0]
        status: dict[str, Any] = {"SerialNo": "2028:1", "PhoneNumber": phone, "Fee": 1}
        if self.fail_next:
            status |= {"Code": self.fail_next.pop(0), "Message": "simulated"}
        else:
            self.sent.append(payload | {"code": payload["TemplateParamSet"][0]})
            status |= {"Code": "Ok", "Message": "send success"}
        return JSONResponse({"Response": {"SendStatusSet": [status], "RequestId": "r-2"}})
