from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from sharestack.payouts.rules import PROVIDER_IDENTITIES
from sharestack.text import SingleLine

Provider = Literal["wechatpay", "alipay", "sandbox"]
IdentityType = Literal["openid", "alipay_user_id", "alipay_logon_id", "sandbox"]
PayoutStatus = Literal["pending", "in_transit", "paid", "failed", "cancelled"]
# openids are [0-9A-Za-z_-]; Alipay user ids are digits; logon ids are emails or phone numbers.
Identity = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^\S+$")
]
RealName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), SingleLine
]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class PayoutAccountCreate(BaseModel):
    """Where to be paid. WeChat Pay: the creator's ``openid`` under our app; Alipay: the user id
    (2088...) or the logon id (email or phone), which needs ``real_name``. ``real_name`` is also
    required by WeChat Pay for payouts from 2,000 yuan."""

    model_config = ConfigDict(extra="forbid")

    provider: Provider
    identity_type: IdentityType
    identity: Identity
    real_name: RealName | None = None

    @model_validator(mode="after")
    def _fits_provider(self) -> Self:
        if self.identity_type not in PROVIDER_IDENTITIES[self.provider]:
            allowed = ", ".join(sorted(PROVIDER_IDENTITIES[self.provider]))
            raise ValueError(f"identity_type for {self.provider} is one of: {allowed}")
        if self.identity_type == "alipay_logon_id" and not self.real_name:
            raise ValueError("real_name is required for an Alipay logon id")
        return self


class PayoutAccountRead(BaseModel):
    id: int
    provider: str
    identity_type: str
    identity: str  # masked
    real_name: str | None  # masked
    created_at: datetime


class PayoutCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payout_account_id: int = Field(ge=1, le=2**63 - 1)
    amount: int = Field(ge=1, le=10**12, description="minor units (fen)")
    currency: Currency = "CNY"


class PayoutRead(BaseModel):
    id: int
    payout_account_id: int | None
    provider: str
    amount: int
    currency: str
    status: PayoutStatus
    # The provider's own word for the transfer (WAIT_USER_CONFIRM, SUCCESS, ...); "" before it.
    provider_status: str
    # True while WeChat Pay waits for the creator to confirm in WeChat; package_info is what
    # the creator's WeChat client passes to wx.requestMerchantTransfer.
    awaiting_confirmation: bool
    package_info: str | None
    confirm_before: datetime | None
    failure_reason: str | None
    created_at: datetime
    paid_at: datetime | None
    finished_at: datetime | None


class PayoutPage(BaseModel):
    items: list[PayoutRead]
    next_cursor: str | None


class CurrencyBalance(BaseModel):
    """Minor units. ``available`` may be negative after a refund of money already paid out."""

    currency: str
    pending: int
    available: int
    in_transit: int


class BalanceRead(BaseModel):
    balances: list[CurrencyBalance]
