"""WeChat Pay API v3 (直连商户): Native, H5 and JSAPI orders, query, close, refunds and the
payment and refund notifications. Signing and decryption live in ``wechatpay_crypto``.

Decisions:

- Answers are verified like notifications (signature, key id, 300 s freshness). A 2xx answer
  that does not verify raises :class:`UntrustedResponse` (outcome unknown). A 4xx answer is a
  business error (``ProviderRejected``) whether or not it is signed: WeChat Pay does not sign
  every error (a 401 ``SIGN_ERROR`` cannot be), and a refusal changes no money.
- A 5xx or a 429 is ``ProviderUnavailable``: ``SYSTEM_ERROR`` means the outcome is unknown and
  the order must be queried, not re-created.
- ``mchid`` and ``appid`` of a notification are compared here with our configuration; the
  order's ``out_trade_no``, amount and currency with ``Notification.verify_against``.
- ``trade_state`` ``REFUND`` maps to ``succeeded``: the payment did succeed; refunds are their
  own objects with their own notifications.
- Auto-renew (委托代扣 / 扣费服务) exists only in API v2 (XML, MD5/HMAC-SHA256 with the v2 key):
  ``sign_agreement`` and ``charge_agreement`` raise :class:`UnsupportedOperation`. Renewals on
  WeChat Pay are new orders the reader pays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from sharestack.payments.providers import wechatpay_crypto as crypto
from sharestack.payments.providers import wechatpay_notifications as notifications
from sharestack.payments.providers import wechatpay_transfers as transfers
from sharestack.payments.providers._common import (
    CHINA_TZ,
    Clock,
    check_refund_no,
    counting_rejections,
    make_client,
    system_clock,
    unavailable_on_transport_errors,
)
from sharestack.payments.providers.base import (
    Ack,
    AgreementRequest,
    CheckoutAction,
    Notification,
    Order,
    OrderNotFound,
    OrderState,
    ProviderRejected,
    ProviderUnavailable,
    RefundNotFound,
    RefundState,
    UnsupportedOperation,
    UntrustedResponse,
    lower_headers,
)
from sharestack.payments.providers.statements import parse_wechat_trade_bill
from sharestack.payments.providers.transfers import (
    StatementLine,
    TransferNotFound,
    TransferRequest,
    TransferState,
)
from sharestack.payments.providers.wechatpay_notifications import order_state, refund_state

NAME = "wechatpay"
DEFAULT_BASE_URL = "https://api.mch.weixin.qq.com"

_ACK_FAIL = json.dumps({"code": "FAIL", "message": "失败"}, ensure_ascii=False).encode()


@dataclass(frozen=True)
class WechatPayConfig:
    mchid: str
    appid: str
    serial_no: str  # of the merchant API certificate
    private_key: rsa.RSAPrivateKey
    apiv3_key: bytes  # 32 bytes
    verifier: crypto.WechatPayVerifier
    base_url: str = DEFAULT_BASE_URL
    timeout: float = 10.0
    transfer_scene_id: str = transfers.DEFAULT_SCENE_ID

    def __post_init__(self) -> None:
        if len(self.apiv3_key) != 32:
            raise ValueError("the APIv3 key is 32 bytes")
        if not (self.verifier.platform_keys or self.verifier.public_key):
            raise ValueError("a platform certificate or the WeChat Pay public key is required")


class WechatPayProvider:
    name = NAME

    def __init__(
        self,
        config: WechatPayConfig,
        *,
        clock: Clock = system_clock,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._config = config
        self._clock = clock
        self._http = make_client(config.timeout, transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- orders ---------------------------------------------------------------------------
    async def create_order(self, order: Order) -> CheckoutAction:
        if order.currency != "CNY":
            raise UnsupportedOperation(f"currency {order.currency}")
        cfg = self._config
        payload: dict[str, Any] = {
            "appid": cfg.appid,
            "mchid": cfg.mchid,
            "description": order.description,
            "out_trade_no": order.out_trade_no,
            "notify_url": order.notify_url,
            "amount": {"total": order.amount, "currency": "CNY"},
        }
        if order.expires_at is not None:
            payload["time_expire"] = order.expires_at.astimezone(CHINA_TZ).isoformat("T", "seconds")
        if order.scene == "native":
            data = await self._call("POST", "/v3/pay/transactions/native", payload)
            return CheckoutAction(kind="qr_code", qr_code=_str(data, "code_url"))
        if order.scene == "h5":
            if not order.payer_client_ip:
                raise ValueError("WeChat H5 orders need the buyer's IP (payer_client_ip)")
            payload["scene_info"] = {
                "payer_client_ip": order.payer_client_ip,
                "h5_info": {"type": "Wap"},
            }
            data = await self._call("POST", "/v3/pay/transactions/h5", payload)
            return CheckoutAction(kind="redirect", redirect_url=_str(data, "h5_url"))
        if order.scene == "jsapi":
            if not order.payer_openid:
                raise ValueError("WeChat JSAPI orders need the payer's openid")
            payload["payer"] = {"openid": order.payer_openid}
            data = await self._call("POST", "/v3/pay/transactions/jsapi", payload)
            params = crypto.sign_jsapi(
                cfg.private_key, cfg.appid, _str(data, "prepay_id"), str(int(self._clock()))
            )
            return CheckoutAction(kind="jsapi", jsapi_params=params)
        raise UnsupportedOperation(f"WeChat Pay has no {order.scene!r} scene")

    async def query_order(self, out_trade_no: str) -> OrderState:
        path = f"/v3/pay/transactions/out-trade-no/{quote(out_trade_no, safe='')}"
        try:
            data = await self._call("GET", f"{path}?mchid={quote(self._config.mchid, safe='')}")
        except ProviderRejected as exc:
            if exc.code == "ORDER_NOT_EXIST":
                raise OrderNotFound(exc.code, exc.message) from None
            raise
        return order_state(data)

    async def close_order(self, out_trade_no: str) -> None:
        path = f"/v3/pay/transactions/out-trade-no/{quote(out_trade_no, safe='')}/close"
        await self._call("POST", path, {"mchid": self._config.mchid})

    # -- refunds --------------------------------------------------------------------------
    async def refund(
        self,
        out_trade_no: str,
        out_refund_no: str,
        amount: int,
        total: int,
        *,
        reason: str = "",
        notify_url: str | None = None,
    ) -> RefundState:
        check_refund_no(out_refund_no)
        if not (0 < amount <= total):
            raise ValueError("0 < amount <= total")
        payload: dict[str, Any] = {
            "out_trade_no": out_trade_no,
            "out_refund_no": out_refund_no,
            "amount": {"refund": amount, "total": total, "currency": "CNY"},
        }
        if reason:
            payload["reason"] = reason
        if notify_url:
            payload["notify_url"] = notify_url
        return refund_state(await self._call("POST", "/v3/refund/domestic/refunds", payload))

    async def query_refund(self, out_trade_no: str, out_refund_no: str) -> RefundState:
        check_refund_no(out_refund_no)
        path = f"/v3/refund/domestic/refunds/{quote(out_refund_no, safe='')}"
        try:
            return refund_state(await self._call("GET", path))
        except ProviderRejected as exc:
            if exc.code == "RESOURCE_NOT_EXISTS":
                raise RefundNotFound(exc.code, exc.message) from None
            raise

    # -- agreements -----------------------------------------------------------------------
    async def sign_agreement(self, request: AgreementRequest) -> CheckoutAction:
        raise UnsupportedOperation("WeChat Pay auto-renew (委托代扣) is API v2 only")

    async def charge_agreement(
        self,
        agreement_no: str,
        out_trade_no: str,
        amount: int,
        *,
        description: str,
        notify_url: str | None = None,
    ) -> OrderState:
        raise UnsupportedOperation("WeChat Pay auto-renew (委托代扣) is API v2 only")

    # -- transfers (商家转账) and the trade bill: see wechatpay_transfers ---------------------
    async def transfer(self, request: TransferRequest) -> TransferState:
        cfg = self._config
        headers: dict[str, str] = {}
        encrypted = None
        if request.real_name:
            serial, key = self._encryption_key()
            encrypted = transfers.encrypt_sensitive(key, request.real_name)
            headers["Wechatpay-Serial"] = serial
        body = transfers.transfer_body(
            request, appid=cfg.appid, scene_id=cfg.transfer_scene_id, encrypted_name=encrypted
        )
        data = await self._call("POST", "/v3/fund-app/mch-transfer/transfer-bills", body, headers)
        return transfers.transfer_state(data, request.transfer_no)

    async def query_transfer(self, transfer_no: str) -> TransferState:
        path = f"/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{quote(transfer_no, safe='')}"
        try:
            data = await self._call("GET", path)
        except ProviderRejected as exc:
            if exc.code == "NOT_FOUND":
                raise TransferNotFound(exc.code, exc.message) from None
            raise
        return transfers.transfer_state(data, transfer_no)

    async def cancel_transfer(self, transfer_no: str) -> TransferState:
        path = (
            f"/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/"
            f"{quote(transfer_no, safe='')}/cancel"
        )
        try:
            data = await self._call("POST", path, {})
        except ProviderRejected as exc:
            if exc.code == "NOT_FOUND":
                raise TransferNotFound(exc.code, exc.message) from None
            raise
        return transfers.transfer_state(data, transfer_no)

    async def statement(self, day: date) -> list[StatementLine]:
        """The day's trade bill (``bill_type=ALL``). The download is not signed by WeChat Pay;
        its SHA-1 from the signed first answer proves it instead."""
        try:
            data = await self._call("GET", f"/v3/bill/tradebill?bill_date={day.isoformat()}")
        except ProviderRejected as exc:
            if exc.code == "NO_STATEMENT_EXIST":
                return []  # no payment or refund that day
            raise
        content = await self._download(_str(data, "download_url"))
        expected = str(data.get("hash_value", "")).lower()
        if str(data.get("hash_type", "SHA1")).upper() != "SHA1" or not hmac.compare_digest(
            hashlib.sha1(content, usedforsecurity=False).hexdigest(), expected
        ):
            raise UntrustedResponse(f"{NAME}: the trade bill does not match its hash")
        return parse_wechat_trade_bill(content.decode("utf-8"), NAME)

    def _encryption_key(self) -> tuple[str, rsa.RSAPublicKey]:
        verifier = self._config.verifier
        if verifier.public_key_id and verifier.public_key is not None:
            return verifier.public_key_id, verifier.public_key
        serial, key = next(iter(verifier.platform_keys.items()))
        return serial, key

    async def _download(self, url: str) -> bytes:
        """A bill file: signed request, unsigned answer. Only from our API host: the request
        carries our Authorization header."""
        base, target = urlsplit(self._config.base_url), urlsplit(url)
        if (target.scheme, target.netloc) != (base.scheme, base.netloc):
            raise UntrustedResponse(f"{NAME}: bill download from another host {target.netloc!r}")
        path = target.path + (f"?{target.query}" if target.query else "")
        response = await self._send("GET", path, "", {})
        if response.status_code >= 500 or response.status_code == 429:
            raise ProviderUnavailable(f"{NAME}: bill download HTTP {response.status_code}")
        if response.status_code >= 400:
            error = _json_or_empty(response.content)
            raise ProviderRejected(str(error.get("code", response.status_code)))
        return response.content

    # -- notifications --------------------------------------------------------------------
    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        with counting_rejections(NAME):
            return notifications.parse(
                lower_headers(headers),
                body,
                mchid=self._config.mchid,
                appid=self._config.appid,
                apiv3_key=self._config.apiv3_key,
                verifier=self._config.verifier,
                now=self._clock(),
            )

    def ack(self, ok: bool) -> Ack:
        """204 with an empty body accepts; any 4xx/5xx with ``{"code": "FAIL"}`` asks WeChat
        Pay to retry (it does so with backoff for about a day)."""
        if ok:
            return Ack(204, {}, b"")
        return Ack(500, {"Content-Type": "application/json"}, _ACK_FAIL)

    # -- transport ------------------------------------------------------------------------
    async def _call(
        self,
        method: str,
        path: str,
        payload: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        cfg = self._config
        body = "" if payload is None else json.dumps(payload, ensure_ascii=False)
        response = await self._send(method, path, body, extra_headers or {}, payload is not None)
        if response.status_code >= 500 or response.status_code == 429:
            raise ProviderUnavailable(f"{NAME}: HTTP {response.status_code} {response.text[:200]}")
        if response.status_code >= 400:
            error = _json_or_empty(response.content)
            raise ProviderRejected(
                str(error.get("code", response.status_code)), str(error.get("message", ""))
            )
        reason = cfg.verifier.check(
            lower_headers(response.headers), response.content, self._clock()
        )
        if reason is not None:
            raise UntrustedResponse(f"{NAME}: answer to {method} {path}: {reason}")
        return _json_or_empty(response.content)

    async def _send(
        self,
        method: str,
        path: str,
        body: str,
        extra_headers: Mapping[str, str],
        has_body: bool = False,
    ) -> httpx.Response:
        cfg = self._config
        timestamp = str(int(self._clock()))
        headers = {
            "Authorization": crypto.authorization(
                mchid=cfg.mchid,
                serial_no=cfg.serial_no,
                key=cfg.private_key,
                method=method,
                path=path,
                body=body,
                timestamp=timestamp,
                nonce_str=crypto.nonce(),
            ),
            "Accept": "application/json",
            "User-Agent": "sharestack",
        }
        if has_body:
            headers["Content-Type"] = "application/json"
        if cfg.verifier.public_key_id:
            headers["Wechatpay-Serial"] = cfg.verifier.public_key_id
        headers.update(extra_headers)
        with unavailable_on_transport_errors(NAME):
            return await self._http.request(
                method, cfg.base_url + path, content=body.encode(), headers=headers
            )


def _json_or_empty(content: bytes) -> dict[str, Any]:
    if not content:
        return {}
    try:
        data = json.loads(content)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise UntrustedResponse(f"{NAME}: answer without {key}")
    return value
