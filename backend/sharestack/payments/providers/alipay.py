"""Alipay open platform gateway (RSA2, public-key mode): precreate (QR), wap and page pay
(signed redirect URLs, no HTTP call), query, close, refunds, the trade notifications and
recurring charges (周期扣款: agreement signing page, ``alipay.trade.pay`` with
``agreement_params.agreement_no``, ``dut_user_sign``/``dut_user_unsign`` notifications).

Decisions:

- ``TRADE_FINISHED`` maps to ``succeeded``, like ``TRADE_SUCCESS``. Alipay sends it once the
  trade can no longer be refunded (or at once for non-refundable products), usually after a
  ``TRADE_SUCCESS`` for the same trade. Its event key differs (the key includes the status, so
  both are recorded), but the transition succeeded → succeeded is a no-op: nothing is credited
  twice.
- A refund also arrives as ``trade_status_sync``: ``out_biz_no`` is our ``out_refund_no`` and
  ``refund_fee`` is the *cumulative* refunded total (``TRADE_CLOSED`` once it reaches the
  total). Such a notification is ``kind="refund"``; its ``amount`` is ``None`` and the total is
  in ``raw["refunded_total"]`` (fen), so ``verify_against`` checks only ``out_trade_no`` for it:
  the caller compares the total with the sum of its own succeeded refunds.
- Notifications carry no freshness guarantee worth enforcing (Alipay retries for about 25 hours
  with the same ``notify_time``), so none is enforced: event keys make every re-delivery a
  duplicate and every transition is idempotent.
- ``app_id`` and ``seller_id`` are ours or the notification is refused; ``total_amount`` must
  parse exactly (``money.yuan_to_fen``).
- Gateway codes: ``10000`` success; ``10003`` (``alipay.trade.pay``: waiting for the buyer) is
  pending; ``20000`` and ``ACQ.SYSTEM_ERROR`` leave the outcome unknown (ProviderUnavailable);
  ``40004`` on a charge is a failed charge; other codes are ``ProviderRejected``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from sharestack.payments.providers import _rsa
from sharestack.payments.providers import alipay_notifications as notifications
from sharestack.payments.providers import alipay_sign as sign
from sharestack.payments.providers import alipay_transfers as transfers
from sharestack.payments.providers._common import (
    Clock,
    check_refund_no,
    china_timestamp,
    counting_rejections,
    make_client,
    parse_china_time,
    system_clock,
    unavailable_on_transport_errors,
)
from sharestack.payments.providers.alipay_notifications import TRADE_STATUS
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
)
from sharestack.payments.providers.money import InvalidAmount, fen_to_yuan, yuan_to_fen
from sharestack.payments.providers.statements import parse_alipay_bill
from sharestack.payments.providers.transfers import (
    StatementLine,
    TransferNotFound,
    TransferRequest,
    TransferState,
)

NAME = "alipay"
DEFAULT_GATEWAY = "https://openapi.alipay.com/gateway.do"
_SCENE_METHODS = {
    "h5": ("alipay.trade.wap.pay", "QUICK_WAP_WAY"),
    "page": ("alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY"),
}


@dataclass(frozen=True)
class AlipayConfig:
    app_id: str
    private_key: rsa.RSAPrivateKey
    alipay_public_key: rsa.RSAPublicKey
    seller_id: str  # the merchant's 2088... partner id, checked on every trade notification
    gateway: str = DEFAULT_GATEWAY
    timeout: float = 10.0
    sign_scene: str = "INDUSTRY|DIGITAL_MEDIA"  # 周期扣款 scene agreed with Alipay


class AlipayProvider:
    name = NAME

    def __init__(
        self,
        config: AlipayConfig,
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
        biz: dict[str, Any] = {
            "out_trade_no": order.out_trade_no,
            "total_amount": fen_to_yuan(order.amount),
            "subject": order.description,
        }
        if order.expires_at is not None:
            biz["time_expire"] = china_timestamp(order.expires_at.timestamp())
        if order.scene == "native":
            data = await self._call("alipay.trade.precreate", biz, notify_url=order.notify_url)
            return CheckoutAction(kind="qr_code", qr_code=_require(data, "qr_code"))
        if order.scene in _SCENE_METHODS:
            method, product_code = _SCENE_METHODS[order.scene]
            biz["product_code"] = product_code
            if order.scene == "h5" and order.return_url:
                biz["quit_url"] = order.return_url
            url = self._redirect(method, biz, order.notify_url, order.return_url)
            return CheckoutAction(kind="redirect", redirect_url=url)
        raise UnsupportedOperation(f"Alipay has no {order.scene!r} scene")

    async def query_order(self, out_trade_no: str) -> OrderState:
        try:
            data = await self._call("alipay.trade.query", {"out_trade_no": out_trade_no})
        except ProviderRejected as exc:
            if exc.code == "ACQ.TRADE_NOT_EXIST":
                raise OrderNotFound(exc.code, exc.message) from None
            raise
        return _order_state(data, out_trade_no)

    async def close_order(self, out_trade_no: str) -> None:
        try:
            await self._call("alipay.trade.close", {"out_trade_no": out_trade_no})
        except ProviderRejected as exc:
            if exc.code == "ACQ.TRADE_NOT_EXIST":
                raise OrderNotFound(exc.code, exc.message) from None
            raise

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
        """Alipay refunds synchronously: code 10000 means done. Its ``refund_fee`` is the
        cumulative refunded total, so the state reports the amount we asked for."""
        check_refund_no(out_refund_no)
        if not (0 < amount <= total):
            raise ValueError("0 < amount <= total")
        biz = {
            "out_trade_no": out_trade_no,
            "out_request_no": out_refund_no,
            "refund_amount": fen_to_yuan(amount),
        }
        if reason:
            biz["refund_reason"] = reason
        data = await self._call("alipay.trade.refund", biz)
        return RefundState(
            out_refund_no=out_refund_no,
            status="succeeded",
            provider_status=f"fund_change={data.get('fund_change', '')}",
            amount=amount,
            provider_ref=_opt(data.get("trade_no")),
            refunded_at=parse_china_time(data.get("gmt_refund_pay")),
        )

    async def query_refund(self, out_trade_no: str, out_refund_no: str) -> RefundState:
        check_refund_no(out_refund_no)
        biz = {
            "out_trade_no": out_trade_no,
            "out_request_no": out_refund_no,
            "query_options": ["gmt_refund_pay"],
        }
        data = await self._call("alipay.trade.fastpay.refund.query", biz)
        # Documented: data with an empty or REFUND_SUCCESS refund_status is a refund made; no
        # data means no refund under this number.
        if not data.get("refund_amount"):
            raise RefundNotFound("REFUND_NOT_EXIST", out_refund_no)
        status = str(data.get("refund_status") or "REFUND_SUCCESS")
        return RefundState(
            out_refund_no=out_refund_no,
            status="succeeded" if status == "REFUND_SUCCESS" else "pending",
            provider_status=status,
            amount=_fen(data.get("refund_amount")),
            provider_ref=_opt(data.get("trade_no")),
            refunded_at=parse_china_time(data.get("gmt_refund_pay")),
        )

    # -- agreements (周期扣款) --------------------------------------------------------------
    async def sign_agreement(self, request: AgreementRequest) -> CheckoutAction:
        biz = {
            "personal_product_code": "CYCLE_PAY_AUTH_P",
            "product_code": "CYCLE_PAY_AUTH",
            "sign_scene": self._config.sign_scene,
            "external_agreement_no": request.external_agreement_no,
            "access_params": {"channel": "ALIPAYAPP"},
            "period_rule_params": {
                "period_type": request.period_type,
                "period": request.period,
                "execute_time": request.first_charge_on.isoformat(),
                "single_amount": fen_to_yuan(request.single_amount),
            },
        }
        url = self._redirect(
            "alipay.user.agreement.page.sign", biz, request.notify_url, request.return_url
        )
        return CheckoutAction(kind="redirect", redirect_url=url)

    async def charge_agreement(
        self,
        agreement_no: str,
        out_trade_no: str,
        amount: int,
        *,
        description: str,
        notify_url: str | None = None,
    ) -> OrderState:
        biz = {
            "out_trade_no": out_trade_no,
            "total_amount": fen_to_yuan(amount),
            "subject": description,
            "product_code": "GENERAL_WITHHOLDING",
            "agreement_params": {"agreement_no": agreement_no},
        }
        try:
            data = await self._call("alipay.trade.pay", biz, notify_url=notify_url)
        except ProviderRejected as exc:
            if exc.code.startswith("ACQ."):  # e.g. ACQ.BUYER_BALANCE_NOT_ENOUGH: a failed charge
                return OrderState(out_trade_no, "failed", exc.code, amount=amount)
            raise
        if data.get("code") == "10003":
            return OrderState(out_trade_no, "pending", "WAIT_BUYER_PAY", _opt(data.get("trade_no")))
        return OrderState(
            out_trade_no=out_trade_no,
            status="succeeded",
            provider_status="TRADE_SUCCESS",
            provider_ref=_opt(data.get("trade_no")),
            amount=_fen(data.get("total_amount")),
            paid_at=parse_china_time(data.get("gmt_payment")),
        )

    # -- transfers and the bill: see alipay_transfers ----------------------------------------
    async def transfer(self, request: TransferRequest) -> TransferState:
        method = "alipay.fund.trans.uni.transfer"
        try:
            data = await self._call(method, transfers.transfer_biz(request))
        except ProviderRejected as exc:
            if exc.code in transfers.UNKNOWN_OUTCOME:
                raise ProviderUnavailable(f"{NAME}: {method}: {exc.code}") from None
            raise
        return transfers.transfer_state(data, request.transfer_no)

    async def query_transfer(self, transfer_no: str) -> TransferState:
        method = "alipay.fund.trans.common.query"
        try:
            data = await self._call(method, transfers.query_biz(transfer_no))
        except ProviderRejected as exc:
            if exc.code == "ORDER_NOT_EXIST":
                raise TransferNotFound(exc.code, exc.message) from None
            if exc.code in transfers.UNKNOWN_OUTCOME:
                raise ProviderUnavailable(f"{NAME}: {method}: {exc.code}") from None
            raise
        return transfers.transfer_state(data, transfer_no)

    async def cancel_transfer(self, transfer_no: str) -> TransferState:
        raise UnsupportedOperation("Alipay transfers have no payee confirmation to cancel")

    async def statement(self, day: date) -> list[StatementLine]:
        """The day's trade bill: a short-lived URL from a signed answer, then a zip of GBK CSV
        files (``statements.parse_alipay_bill``)."""
        biz = {"bill_type": "trade", "bill_date": day.isoformat()}
        try:
            data = await self._call("alipay.data.dataservice.bill.downloadurl.query", biz)
        except ProviderRejected as exc:
            if exc.code == "isp.bill_not_exist":
                return []
            raise
        url = _require(data, "bill_download_url")
        if urlsplit(url).scheme not in ("https", "http"):
            raise UntrustedResponse(f"{NAME}: bill URL {url[:40]!r}")
        with unavailable_on_transport_errors(NAME):
            response = await self._http.get(url)
        if response.status_code != 200:
            raise ProviderUnavailable(f"{NAME}: bill download HTTP {response.status_code}")
        return parse_alipay_bill(response.content, NAME)

    # -- notifications --------------------------------------------------------------------
    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        with counting_rejections(NAME):
            return notifications.parse(
                body,
                app_id=self._config.app_id,
                seller_id=self._config.seller_id,
                public_key=self._config.alipay_public_key,
            )

    def ack(self, ok: bool) -> Ack:
        """Alipay reads the literal body ``success``; anything else is retried."""
        return Ack(
            200, {"Content-Type": "text/plain; charset=utf-8"}, b"success" if ok else b"fail"
        )

    # -- transport ------------------------------------------------------------------------
    def _params(
        self,
        method: str,
        biz: Mapping[str, Any],
        notify_url: str | None = None,
        return_url: str | None = None,
    ) -> dict[str, str]:
        params = {
            "app_id": self._config.app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": china_timestamp(self._clock()),
            "version": "1.0",
            "biz_content": sign.biz_content(biz),
        }
        if notify_url:
            params["notify_url"] = notify_url
        if return_url:
            params["return_url"] = return_url
        return sign.sign_params(self._config.private_key, params)

    def _redirect(
        self, method: str, biz: Mapping[str, Any], notify_url: str | None, return_url: str | None
    ) -> str:
        return (
            f"{self._config.gateway}?{urlencode(self._params(method, biz, notify_url, return_url))}"
        )

    async def _call(
        self, method: str, biz: Mapping[str, Any], *, notify_url: str | None = None
    ) -> dict[str, Any]:
        params = self._params(method, biz, notify_url)
        with unavailable_on_transport_errors(NAME):
            response = await self._http.post(
                self._config.gateway,
                content=urlencode(params).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
            )
        if response.status_code != 200:
            raise ProviderUnavailable(f"{NAME}: HTTP {response.status_code}")
        try:
            text, data, signature = sign.signed_response_text(response.text, method)
        except (ValueError, IndexError) as exc:
            raise UntrustedResponse(f"{NAME}: unreadable answer to {method}: {exc}") from None
        code = str(data.get("code", ""))
        verified = signature is not None and _rsa.verify(
            self._config.alipay_public_key, text, signature
        )
        # Alipay leaves some errors unsigned (a request it could not authenticate); a refusal
        # moves no money, so an unverified one is still reported as a refusal.
        if not verified and code in ("10000", "10003"):
            raise UntrustedResponse(f"{NAME}: answer to {method} does not verify")
        if code in ("10000", "10003"):
            return data
        sub_code = str(data.get("sub_code") or code)
        if code == "20000" or sub_code == "ACQ.SYSTEM_ERROR":
            raise ProviderUnavailable(f"{NAME}: {method}: {sub_code}")
        raise ProviderRejected(sub_code, str(data.get("sub_msg") or data.get("msg") or ""))


def _order_state(data: Mapping[str, Any], out_trade_no: str) -> OrderState:
    trade_status = str(data.get("trade_status", ""))
    return OrderState(
        out_trade_no=str(data.get("out_trade_no") or out_trade_no),
        status=TRADE_STATUS.get(trade_status, "unknown"),
        provider_status=trade_status,
        provider_ref=_opt(data.get("trade_no")),
        amount=_fen(data.get("total_amount")),
        paid_at=parse_china_time(data.get("send_pay_date")),
    )


def _fen(value: object) -> int | None:
    try:
        return yuan_to_fen(value) if isinstance(value, str) else None
    except InvalidAmount:
        return None


def _opt(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _require(data: Mapping[str, Any], key: str) -> str:
    value = _opt(data.get(key))
    if value is None:
        raise UntrustedResponse(f"{NAME}: answer without {key}")
    return value
