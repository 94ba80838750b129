from __future__ import annotations

from datetime import datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

ProviderName = Literal["sandbox", "wechatpay", "alipay"]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class CheckoutCreate(BaseModel):
    """``scene``: how the reader pays. ``native`` (default): a QR code (WeChat Native, Alipay
    precreate); ``h5``/``page``: a redirect (WeChat H5, Alipay wap/page pay); ``jsapi``: inside
    WeChat, with the reader's ``openid``."""

    model_config = ConfigDict(extra="forbid")

    plan_id: int = Field(ge=1, le=2**63 - 1)
    provider: ProviderName
    auto_renew: bool = False
    scene: Literal["native", "h5", "jsapi", "page"] = "native"
    openid: str | None = Field(default=None, min_length=1, max_length=128)
    return_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://")


class PaymentRead(BaseModel):
    id: int
    status: str
    amount: int
    currency: str
    refunded_amount: int
    provider: str
    kind: str
    subscription_id: int | None
    out_trade_no: str
    created_at: datetime
    succeeded_at: datetime | None


class CheckoutAction(BaseModel):
    """What the client needs to pay: ``qr_code`` (also as ``code_url``) to show, a
    ``redirect_url`` to open, or ``jsapi_params`` for ``WeixinJSBridge``."""

    kind: Literal["qr_code", "redirect", "jsapi"]
    qr_code: str | None = None
    code_url: str | None = None
    redirect_url: str | None = None
    jsapi_params: dict[str, str] | None = None


class AgreementRead(BaseModel):
    id: int
    provider: str
    status: str
    # Where the reader signs the recurring-charge agreement (null once signed).
    sign_url: str | None


class CheckoutRead(BaseModel):
    payment: PaymentRead
    subscription_id: int
    # null when the provider did not answer in time (payment ``unknown``, settled later).
    action: CheckoutAction | None
    agreement: AgreementRead | None


class RefundCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Fen; omitted: everything not yet refunded.
    amount: int | None = Field(default=None, ge=1, le=10_000_000_000)
    reason: str = Field(default="", max_length=200)


class RefundRead(BaseModel):
    id: int
    payment_id: int
    amount: int
    currency: str
    status: str
    created_at: datetime
    refunded_at: datetime | None


class SandboxPay(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["succeed", "fail"]


class SandboxPayRead(BaseModel):
    payment_id: int
    # The notification is delivered asynchronously; the payment changes when it is processed.
    notification: Literal["queued"]
