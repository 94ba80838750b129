"""The payment provider port: what the payments domain asks of WeChat Pay, Alipay or the sandbox.

Money crosses this port only as integer fen (``int``); yuan strings exist only inside an adapter
(``money.py``). Every adapter answers in the same small vocabulary (``OrderStatus``,
``RefundStatus``, ``NotificationKind``) so the domain never reads a provider's own state names.

Errors, and what the caller does with each:

- :class:`ProviderUnavailable`: a timeout, a network error, a 5xx, or an answer whose signature
  does not verify. The outcome is *unknown* (the order may exist, the refund may have been
  made): record the payment as ``unknown`` and let a query job settle it later. Never retry a
  charge blindly.
- :class:`ProviderRejected`: the provider answered, verifiably, with a business error
  (``code``/``message`` as the provider spells them). The outcome is known: it did not happen.
- :class:`NotificationRejected`: an incoming notification is forged, expired, malformed or does
  not match our order. Answer with ``ack(False)`` and change nothing.

Notifications are checked in two steps on purpose. ``parse_notification`` proves the request
came from the provider and was meant for *our* merchant account (signature, timestamp,
decryption, mchid/app_id/seller_id, all known from configuration). It cannot compare the amount:
the webhook handler only learns which payment the notification is about from the verified
``out_trade_no``. It then loads that payment and calls :meth:`Notification.verify_against`, which
compares ``out_trade_no``, amount and currency and raises ``NotificationRejected`` on a mismatch.
Passing the expected order into ``parse_notification`` instead would force a lookup keyed on an
unverified body.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, NamedTuple, Protocol

Scene = Literal["native", "h5", "jsapi", "page"]
OrderStatus = Literal["pending", "succeeded", "failed", "closed", "unknown"]
RefundStatus = Literal["pending", "succeeded", "failed", "unknown"]
NotificationKind = Literal["payment", "refund", "agreement", "transfer"]
AgreementStatus = Literal["signed", "unsigned"]
CheckoutKind = Literal["qr_code", "redirect", "jsapi"]
RejectReason = Literal[
    "signature_probe",  # WeChat Pay's own signature probes: expected traffic, not an attack
    "bad_signature",
    "unknown_key",  # a serial / key id we do not hold
    "expired",
    "malformed",
    "decrypt_failed",
    "merchant_mismatch",  # mchid, appid, app_id or seller_id is not ours
    "out_trade_no_mismatch",
    "amount_mismatch",
    "currency_mismatch",
    "unsupported_event",
]

NOTIFICATION_MAX_AGE_SECONDS = 300
_OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_-]{6,32}")


class ProviderError(Exception):
    """Base of every error an adapter raises."""


class ProviderUnavailable(ProviderError):
    """The provider could not be reached, timed out, failed (5xx) or gave an unverifiable
    answer: the outcome is unknown."""


class UntrustedResponse(ProviderUnavailable):
    """An answer whose signature did not verify. Treated like an outage (outcome unknown), but
    a distinct type so that it can be alerted on: it means a proxy, a key rotation or an attack."""


class ProviderRejected(ProviderError):
    """A verified business error from the provider (e.g. ``ORDER_NOT_EXIST``,
    ``ACQ.TRADE_NOT_EXIST``, ``NOT_ENOUGH``)."""

    def __init__(self, code: str, message: str = "") -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}" if message else code)


class OrderNotFound(ProviderRejected):
    """The provider does not know the order. At WeChat Pay that means it was never created (a
    create call that timed out before it arrived). At Alipay it is also the normal answer for a
    precreate or page order the buyer has not opened yet: not a failure on its own."""


class RefundNotFound(ProviderRejected):
    """The provider has no refund under this number: it was not made (retrying ``refund`` with
    the same ``out_refund_no`` is safe)."""


class UnsupportedOperation(ProviderError, NotImplementedError):
    """The adapter does not offer this operation or scene (e.g. WeChat Pay auto-renew, which is
    only in API v2, or Alipay JSAPI)."""


class NotificationRejected(ProviderError):
    def __init__(self, reason: RejectReason, detail: str = "") -> None:
        self.reason: RejectReason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


@dataclass(frozen=True, slots=True)
class Order:
    """What we ask a provider to collect. ``amount`` is integer fen."""

    out_trade_no: str
    amount: int
    description: str
    notify_url: str
    scene: Scene
    currency: str = "CNY"
    payer_openid: str | None = None  # WeChat JSAPI
    payer_client_ip: str | None = None  # WeChat H5 requires the buyer's IP
    return_url: str | None = None  # Alipay page/wap: where the buyer's browser returns
    expires_at: datetime | None = None

    def __post_init__(self) -> None:
        _check_fen(self.amount)
        if _OUT_TRADE_NO.fullmatch(self.out_trade_no) is None:
            # The characters and lengths both providers accept (WeChat Pay: 6-32).
            raise ValueError("out_trade_no must be 6-32 of [0-9A-Za-z_-]")


@dataclass(frozen=True, slots=True)
class CheckoutAction:
    """What the client needs to pay: a QR code to show (WeChat Native ``code_url``, Alipay
    precreate ``qr_code``), a URL to send the browser to (WeChat H5, Alipay wap/page pay, an
    agreement signing page), or the parameters for ``WeixinJSBridge`` (JSAPI)."""

    kind: CheckoutKind
    qr_code: str | None = None
    redirect_url: str | None = None
    jsapi_params: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class OrderState:
    out_trade_no: str
    status: OrderStatus
    provider_status: str  # the provider's own word (trade_state / trade_status), for logs
    provider_ref: str | None = None  # transaction_id / trade_no
    amount: int | None = None
    paid_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RefundState:
    out_refund_no: str
    status: RefundStatus
    provider_status: str
    amount: int | None = None
    provider_ref: str | None = None  # refund_id / trade_no
    refunded_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AgreementRequest:
    """A recurring-charge agreement (Alipay 周期扣款) to sign. ``single_amount`` is the most one
    charge may take, in fen; ``period_type`` and ``period`` give the cycle (e.g. MONTH, 1) and
    ``first_charge_on`` the first day a charge may run."""

    external_agreement_no: str
    notify_url: str
    single_amount: int
    first_charge_on: date
    period_type: Literal["DAY", "MONTH"] = "MONTH"
    period: int = 1
    return_url: str | None = None

    def __post_init__(self) -> None:
        _check_fen(self.single_amount)


@dataclass(frozen=True, slots=True)
class Notification:
    """A verified provider event.

    ``event_key`` is unique per provider event and identical for every re-delivery of it: store
    it under a unique index and a duplicate is found, not applied twice. ``status`` is an
    ``OrderStatus`` for payments, a ``RefundStatus`` for refunds and an ``AgreementStatus`` for
    agreements. ``amount`` is the order total (payments) or the refunded amount (refunds).
    """

    provider: str
    event_key: str
    kind: NotificationKind
    status: str
    out_trade_no: str | None
    amount: int | None
    currency: str | None = "CNY"
    provider_ref: str | None = None
    out_refund_no: str | None = None
    agreement_no: str | None = None
    external_agreement_no: str | None = None
    # Transfers (payouts): our out_bill_no. Only a hint to look now: payouts query the state.
    transfer_no: str | None = None
    occurred_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def verify_against(self, out_trade_no: str, amount: int, currency: str = "CNY") -> None:
        """Refuse a verified notification that is not about the order (or refund) we hold:
        a different ``out_trade_no``, a different amount in fen, a different currency."""
        if self.out_trade_no != out_trade_no:
            raise NotificationRejected("out_trade_no_mismatch", f"{self.out_trade_no!r}")
        # Alipay refund notifications carry only the cumulative refunded total (see alipay.py):
        # the one case where there is no amount to compare.
        unknown_refund_amount = self.amount is None and self.kind == "refund"
        if self.amount != amount and not unknown_refund_amount:
            raise NotificationRejected("amount_mismatch", f"{self.amount} != {amount}")
        if self.currency is not None and self.currency != currency:
            raise NotificationRejected("currency_mismatch", f"{self.currency} != {currency}")


class Ack(NamedTuple):
    """The HTTP answer a provider expects from our webhook."""

    status: int
    headers: dict[str, str]
    body: bytes


class PaymentProvider(Protocol):
    """One payment provider. Every I/O method may raise :class:`ProviderUnavailable`."""

    name: str

    async def create_order(self, order: Order) -> CheckoutAction: ...

    async def query_order(self, out_trade_no: str) -> OrderState: ...

    async def close_order(self, out_trade_no: str) -> None: ...

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """Verify and decode a webhook request. ``headers`` may use any letter case."""
        ...

    def ack(self, ok: bool) -> Ack: ...

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
        """Refund ``amount`` fen of an order of ``total`` fen. Retrying with the same
        ``out_refund_no`` is idempotent at both providers: it never refunds twice."""
        ...

    async def query_refund(self, out_trade_no: str, out_refund_no: str) -> RefundState:
        """``out_trade_no`` is needed by Alipay (``alipay.trade.fastpay.refund.query`` finds a
        refund by trade and request number); WeChat Pay finds it by ``out_refund_no`` alone."""
        ...

    async def sign_agreement(self, request: AgreementRequest) -> CheckoutAction: ...

    async def charge_agreement(
        self,
        agreement_no: str,
        out_trade_no: str,
        amount: int,
        *,
        description: str,
        notify_url: str | None = None,
    ) -> OrderState: ...

    async def aclose(self) -> None:
        """Release the HTTP client."""
        ...


def _check_fen(amount: object) -> None:
    if type(amount) is not int or amount <= 0:
        raise ValueError(f"amounts are positive integer fen, got {amount!r}")


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}
