"""The transfer port: money out to a creator's WeChat or Alipay account, and the providers'
daily statements for reconciliation. The WeChat Pay and Alipay adapters implement it beside
``PaymentProvider`` (they share the signed HTTP client); ``SandboxTransfers`` stands in for
development and tests.

Why a second protocol rather than more methods on ``PaymentProvider``: the payouts domain needs
only these few calls, and a provider may offer one side and not the other (a merchant account
without 商家转账 enabled, a sandbox with no statements).

Errors follow ``base``: :class:`ProviderUnavailable` means the outcome is unknown (a timeout, a
5xx, an answer that does not verify): the caller queries with the same ``transfer_no`` before it
tries again, and never invents a new number. :class:`ProviderRejected` is a verified refusal;
:class:`TransferNotFound` says the provider has no transfer under the number, which is the one
answer that makes sending it (again, with the same number) safe.

Money is integer fen. Names and identities are passed as given and never logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Protocol

from sharestack.payments.providers.base import ProviderRejected, _check_fen

# What a transfer's state means for the payout, whatever the provider calls it.
#   pending:        accepted, not final (processing, or waiting for the payee to confirm)
#   awaiting_payee: WeChat Pay WAIT_USER_CONFIRM: the payee must confirm in WeChat
#   succeeded:      the money reached the payee (final)
#   failed:         it did not and will not (final; the money is back with the merchant)
#   cancelled:      we cancelled it before the payee confirmed (final, like failed)
#   cancelling:     a cancel was accepted and is being processed
TransferStatus = Literal[
    "pending", "awaiting_payee", "succeeded", "failed", "cancelled", "cancelling"
]
FINAL_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
IdentityType = Literal["openid", "alipay_user_id", "alipay_logon_id", "sandbox"]


class TransferNotFound(ProviderRejected):
    """The provider has no transfer under this number: it was never created."""


@dataclass(frozen=True, slots=True)
class TransferRequest:
    transfer_no: str  # out_bill_no / out_biz_no: the same for every attempt of one payout
    amount: int  # fen
    identity: str  # WeChat openid, Alipay user id (2088...) or logon id (email, phone)
    identity_type: IdentityType
    remark: str  # shown to the payee (WeChat Pay: at most 32 characters)
    real_name: str | None = field(default=None, repr=False)
    currency: str = "CNY"
    notify_url: str | None = None

    def __post_init__(self) -> None:
        _check_fen(self.amount)
        if not self.transfer_no.isalnum() or not self.transfer_no.isascii():
            raise ValueError("transfer_no must be ASCII letters and digits")


@dataclass(frozen=True, slots=True)
class TransferState:
    transfer_no: str
    status: TransferStatus
    provider_status: str  # the provider's own word, for logs and the API
    provider_ref: str | None = None  # transfer_bill_no / order_id
    amount: int | None = None
    # WeChat Pay: what the payee's client passes to wx.requestMerchantTransfer to confirm.
    package_info: str | None = None
    failure_reason: str | None = None
    finished_at: datetime | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


class TransferProvider(Protocol):
    name: str

    async def transfer(self, request: TransferRequest) -> TransferState:
        """Create the transfer, or return the one already created under its number."""
        ...

    async def query_transfer(self, transfer_no: str) -> TransferState:
        """Raises :class:`TransferNotFound` when the provider never created it."""
        ...

    async def cancel_transfer(self, transfer_no: str) -> TransferState:
        """Ask to cancel a transfer the payee has not confirmed yet. Providers without a
        confirmation step raise ``UnsupportedOperation``."""
        ...


StatementKind = Literal["payment", "refund"]


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One line of a provider's daily statement, as reconciliation compares it. ``amount`` is
    positive fen: the order's total for a payment, the refunded amount for a refund."""

    provider: str
    kind: StatementKind
    out_trade_no: str
    amount: int
    out_refund_no: str | None = None
    provider_ref: str | None = None
    occurred_at: datetime | None = None


class StatementProvider(Protocol):
    name: str

    async def statement(self, day: date) -> list[StatementLine]:
        """Every payment and refund of ``day`` (the provider's calendar day, Beijing time)."""
        ...
