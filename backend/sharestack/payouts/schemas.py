from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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


class _AccountBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identity: Identity
    real_name: RealName | None = Field(
        default=None,
        description="the account holder's name, checked by the provider; WeChat Pay needs it for "
        "payouts from 2,000 yuan",
    )


class WechatOpenidAccount(_AccountBase):
    """WeChat Pay: the creator's ``openid`` under our app."""

    provider: Literal["wechatpay"]
    identity_type: Literal["openid"]
    identity: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_-]{1,128}$")]


class AlipayUserIdAccount(_AccountBase):
    """Alipay: the account's user id (2088 followed by digits)."""

    provider: Literal["alipay"]
    identity_type: Literal["alipay_user_id"]
    identity: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,32}$")]


class AlipayLogonIdAccount(_AccountBase):
    """Alipay: the logon id (an email or a phone number), which Alipay only pays with the
    holder's name."""

    provider: Literal["alipay"]
    identity_type: Literal["alipay_logon_id"]
    real_name: RealName


class SandboxAccount(_AccountBase):
    provider: Literal["sandbox"]
    identity_type: Literal["sandbox"]


# Where to be paid. ``identity_type`` decides the provider and what the identity looks like, so
# the document states every rule the API checks on this body.
PayoutAccountCreate = Annotated[
    WechatOpenidAccount | AlipayUserIdAccount | AlipayLogonIdAccount | SandboxAccount,
    Field(discriminator="identity_type"),
]


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
