"""A deterministic provider for development and tests, with the same contract as the real ones.

State lives in a :class:`SandboxStore` (in memory by default; the API can pass one backed by
its own database or Redis so that several processes agree). Nothing is paid until someone
says so: ``pay(out_trade_no, outcome)`` settles the order and returns the signed notification
the sandbox "sends". Checkout actions point at ``{checkout_base_url}/{out_trade_no}/pay``; the
API's sandbox route there is meant to call ``pay`` and hand the returned :class:`SignedRequest`
to :func:`send` in a background task, so the webhook runs over HTTP exactly as a real
provider's would (and a slow webhook never blocks the "buyer").

Notifications are JSON, signed with HMAC-SHA256 (``SANDBOX_PAYMENTS_SECRET``) over
``TIMESTAMP\\nNONCE\\nBODY\\n`` in ``X-Sandbox-Signature`` (hex), with ``X-Sandbox-Timestamp``
and ``X-Sandbox-Nonce``; older than 300 s is refused. Event ids are derived from the event, so
re-sending one is a duplicate, not a second payment.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal, Protocol

import httpx

from sharestack.payments.providers._common import (
    Clock,
    check_refund_no,
    counting_rejections,
    system_clock,
)
from sharestack.payments.providers.base import (
    NOTIFICATION_MAX_AGE_SECONDS,
    Ack,
    AgreementRequest,
    CheckoutAction,
    Notification,
    NotificationRejected,
    Order,
    OrderNotFound,
    OrderState,
    ProviderRejected,
    RefundNotFound,
    RefundState,
    lower_headers,
)

NAME = "sandbox"
Outcome = Literal["succeeded", "failed", "closed"]


@dataclass(frozen=True)
class SignedRequest:
    """A notification ready to POST: ``url`` is the order's ``notify_url``."""

    url: str
    headers: dict[str, str]
    body: bytes


async def send(request: SignedRequest, client: httpx.AsyncClient) -> int:
    """POST a sandbox notification to its webhook; return the HTTP status it answered."""
    response = await client.post(request.url, content=request.body, headers=request.headers)
    return response.status_code


class SandboxStore(Protocol):
    async def get_order(self, out_trade_no: str) -> OrderState | None: ...
    async def put_order(self, state: OrderState, order: Order) -> None: ...
    async def get_placed(self, out_trade_no: str) -> Order | None: ...
    async def get_refund(self, out_refund_no: str) -> tuple[str, RefundState] | None: ...
    async def put_refund(self, out_trade_no: str, state: RefundState) -> None: ...
    async def refunded_total(self, out_trade_no: str) -> int: ...
    async def get_agreement(self, agreement_no: str) -> bool | None: ...
    async def put_agreement(self, agreement_no: str, signed: bool) -> None: ...


class InMemorySandboxStore:
    def __init__(self) -> None:
        self._orders: dict[str, tuple[OrderState, Order]] = {}
        self._refunds: dict[str, tuple[str, RefundState]] = {}
        self._agreements: dict[str, bool] = {}

    async def get_order(self, out_trade_no: str) -> OrderState | None:
        found = self._orders.get(out_trade_no)
        return found[0] if found else None

    async def get_placed(self, out_trade_no: str) -> Order | None:
        found = self._orders.get(out_trade_no)
        return found[1] if found else None

    async def put_order(self, state: OrderState, order: Order) -> None:
        self._orders[state.out_trade_no] = (state, order)

    async def get_refund(self, out_refund_no: str) -> tuple[str, RefundState] | None:
        return self._refunds.get(out_refund_no)

    async def put_refund(self, out_trade_no: str, state: RefundState) -> None:
        self._refunds[state.out_refund_no] = (out_trade_no, state)

    async def refunded_total(self, out_trade_no: str) -> int:
        return sum(
            r.amount or 0
            for otn, r in self._refunds.values()
            if otn == out_trade_no and r.status == "succeeded"
        )

    async def get_agreement(self, agreement_no: str) -> bool | None:
        return self._agreements.get(agreement_no)

    async def put_agreement(self, agreement_no: str, signed: bool) -> None:
        self._agreements[agreement_no] = signed


def _ref(prefix: str, key: str) -> str:
    return prefix + hashlib.sha256(key.encode()).hexdigest()[:24]


class SandboxProvider:
    name = NAME

    def __init__(
        self,
        secret: str,
        *,
        store: SandboxStore | None = None,
        clock: Clock = system_clock,
        checkout_base_url: str = "/api/v1/sandbox/payments",
    ) -> None:
        if not secret:
            raise ValueError("the sandbox needs a signing secret")
        self._secret = secret.encode()
        self._store: SandboxStore = store or InMemorySandboxStore()
        self._clock = clock
        self._base = checkout_base_url.rstrip("/")

    async def aclose(self) -> None:
        return None

    # -- orders ---------------------------------------------------------------------------
    async def create_order(self, order: Order) -> CheckoutAction:
        placed = await self._store.get_placed(order.out_trade_no)
        if placed is not None and placed != order:
            raise ProviderRejected("OUT_TRADE_NO_USED", "same out_trade_no, different order")
        if placed is None:
            state = OrderState(order.out_trade_no, "pending", "NOTPAY", amount=order.amount)
            await self._store.put_order(state, order)
        url = f"{self._base}/{order.out_trade_no}/pay"
        if order.scene == "native":
            return CheckoutAction(kind="qr_code", qr_code=f"sandbox://pay/{order.out_trade_no}")
        if order.scene == "jsapi":
            return CheckoutAction(kind="jsapi", jsapi_params={"out_trade_no": order.out_trade_no})
        return CheckoutAction(kind="redirect", redirect_url=url)

    async def query_order(self, out_trade_no: str) -> OrderState:
        state = await self._store.get_order(out_trade_no)
        if state is None:
            raise OrderNotFound("ORDER_NOT_EXIST", out_trade_no)
        return state

    async def close_order(self, out_trade_no: str) -> None:
        state = await self.query_order(out_trade_no)
        if state.status == "succeeded":
            raise ProviderRejected("ORDER_PAID", out_trade_no)
        order = await self._store.get_placed(out_trade_no)
        assert order is not None
        await self._store.put_order(
            replace(state, status="closed", provider_status="CLOSED"), order
        )

    async def pay(self, out_trade_no: str, outcome: Outcome = "succeeded") -> SignedRequest:
        """Settle a pending order as the buyer would, and return the notification to send.
        Settling an order again re-sends its first outcome (a duplicate delivery)."""
        state = await self.query_order(out_trade_no)
        order = await self._store.get_placed(out_trade_no)
        assert order is not None
        if state.status == "pending":
            paid_at = datetime.fromtimestamp(self._clock(), UTC) if outcome == "succeeded" else None
            state = replace(
                state,
                status=outcome,
                provider_status=outcome.upper(),
                provider_ref=_ref("SB", out_trade_no),
                paid_at=paid_at,
            )
            await self._store.put_order(state, order)
        settled: Outcome = outcome
        if state.status == "failed" or state.status == "closed" or state.status == "succeeded":
            settled = state.status
        return self.make_notification(order, settled)

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
        existing = await self._store.get_refund(out_refund_no)
        if existing is not None:
            return existing[1]  # idempotent, like both real providers
        state = await self.query_order(out_trade_no)
        if state.status != "succeeded":
            raise ProviderRejected("TRADE_NOT_PAID", out_trade_no)
        if state.amount != total:
            raise ProviderRejected("INVALID_REQUEST", "total does not match the order")
        if not 0 < amount <= total - await self._store.refunded_total(out_trade_no):
            raise ProviderRejected("NOT_ENOUGH", "refund exceeds the refundable amount")
        refund = RefundState(
            out_refund_no=out_refund_no,
            status="succeeded",
            provider_status="SUCCESS",
            amount=amount,
            provider_ref=_ref("SBR", out_refund_no),
            refunded_at=datetime.fromtimestamp(self._clock(), UTC),
        )
        await self._store.put_refund(out_trade_no, refund)
        return refund

    async def query_refund(self, out_trade_no: str, out_refund_no: str) -> RefundState:
        found = await self._store.get_refund(out_refund_no)
        if found is None or found[0] != out_trade_no:
            raise RefundNotFound("RESOURCE_NOT_EXISTS", out_refund_no)
        return found[1]

    # -- agreements -----------------------------------------------------------------------
    async def sign_agreement(self, request: AgreementRequest) -> CheckoutAction:
        agreement_no = _ref("SBA", request.external_agreement_no)
        if await self._store.get_agreement(agreement_no) is None:
            await self._store.put_agreement(agreement_no, False)
        url = f"{self._base}/agreements/{request.external_agreement_no}/sign"
        return CheckoutAction(kind="redirect", redirect_url=url)

    async def confirm_agreement(self, external_agreement_no: str, notify_url: str) -> SignedRequest:
        """The reader signs on the sandbox page: mark it signed and return the notification."""
        agreement_no = _ref("SBA", external_agreement_no)
        await self._store.put_agreement(agreement_no, True)
        payload = {
            "event_id": f"agreement:{agreement_no}:signed",
            "kind": "agreement",
            "status": "signed",
            "agreement_no": agreement_no,
            "external_agreement_no": external_agreement_no,
        }
        return self._signed(notify_url, payload)

    async def charge_agreement(
        self,
        agreement_no: str,
        out_trade_no: str,
        amount: int,
        *,
        description: str,
        notify_url: str | None = None,
    ) -> OrderState:
        order = Order(out_trade_no, amount, description, notify_url or "", "page")
        signed = await self._store.get_agreement(agreement_no)
        state = OrderState(
            out_trade_no,
            "succeeded" if signed else "failed",
            "TRADE_SUCCESS" if signed else "AGREEMENT_NOT_SIGNED",
            provider_ref=_ref("SB", out_trade_no),
            amount=amount,
            paid_at=datetime.fromtimestamp(self._clock(), UTC) if signed else None,
        )
        await self._store.put_order(state, order)
        return state

    # -- notifications --------------------------------------------------------------------
    def make_notification(self, order: Order, outcome: Outcome) -> SignedRequest:
        """The signed request the sandbox sends when ``order`` settles with ``outcome``."""
        payload = {
            "event_id": f"payment:{order.out_trade_no}:{outcome}",
            "kind": "payment",
            "status": outcome,
            "out_trade_no": order.out_trade_no,
            "amount": order.amount,
            "currency": order.currency,
            "provider_ref": _ref("SB", order.out_trade_no),
        }
        return self._signed(order.notify_url, payload)

    def make_refund_notification(
        self, notify_url: str, out_trade_no: str, refund: RefundState
    ) -> SignedRequest:
        payload = {
            "event_id": f"refund:{refund.out_refund_no}:{refund.status}",
            "kind": "refund",
            "status": refund.status,
            "out_trade_no": out_trade_no,
            "out_refund_no": refund.out_refund_no,
            "amount": refund.amount,
            "currency": "CNY",
            "provider_ref": refund.provider_ref,
        }
        return self._signed(notify_url, payload)

    def _signed(self, url: str, payload: Mapping[str, object]) -> SignedRequest:
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        timestamp, nonce = str(int(self._clock())), secrets.token_hex(16)
        headers = {
            "Content-Type": "application/json",
            "X-Sandbox-Timestamp": timestamp,
            "X-Sandbox-Nonce": nonce,
            "X-Sandbox-Signature": self._mac(timestamp, nonce, body),
        }
        return SignedRequest(url, headers, body)

    def _mac(self, timestamp: str, nonce: str, body: bytes) -> str:
        message = timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body + b"\n"
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        with counting_rejections(NAME):
            return self._parse(lower_headers(headers), body)

    def _parse(self, headers: dict[str, str], body: bytes) -> Notification:
        timestamp = headers.get("x-sandbox-timestamp", "")
        nonce = headers.get("x-sandbox-nonce", "")
        signature = headers.get("x-sandbox-signature", "")
        if not (timestamp.isdigit() and nonce and signature):
            raise NotificationRejected("malformed", "signature headers")
        if abs(self._clock() - int(timestamp)) > NOTIFICATION_MAX_AGE_SECONDS:
            raise NotificationRejected("expired")
        if not hmac.compare_digest(self._mac(timestamp, nonce, body), signature):
            raise NotificationRejected("bad_signature")
        try:
            data = json.loads(body)
            kind, status = data["kind"], str(data["status"])
            amount = data.get("amount")
        except (ValueError, KeyError, TypeError):
            raise NotificationRejected("malformed", "body") from None
        if kind not in ("payment", "refund", "agreement"):
            raise NotificationRejected("unsupported_event", str(kind))
        return Notification(
            provider=NAME,
            event_key=f"{NAME}:{data.get('event_id', '')}",
            kind=kind,
            status=status,
            out_trade_no=data.get("out_trade_no"),
            amount=amount if type(amount) is int else None,
            currency=data.get("currency"),
            provider_ref=data.get("provider_ref"),
            out_refund_no=data.get("out_refund_no"),
            agreement_no=data.get("agreement_no"),
            external_agreement_no=data.get("external_agreement_no"),
            raw=data,
        )

    def ack(self, ok: bool) -> Ack:
        body = b'{"ok":true}' if ok else b'{"ok":false}'
        return Ack(200 if ok else 500, {"Content-Type": "application/json"}, body)
