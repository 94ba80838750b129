from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from sharestack.auth.schemas import LoginResponse

# What a person types: digits, an optional leading +, spaces, dashes, dots and brackets. Whether
# it is a real mobile number is decided by ``phonenumbers`` (422 naming the field otherwise).
PhoneNumber = Annotated[
    str, StringConstraints(min_length=3, max_length=32, pattern=r"^\+?[0-9][0-9 ().\-]{1,30}$")
]
SmsCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
# WeChat codes and states: printable ASCII without spaces, as WeChat issues them.
OAuthValue = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[!-~]+$")]


class PhoneCodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: PhoneNumber


class PhoneCodeSent(BaseModel):
    """The same answer whether or not the number has an account."""

    expires_in: int


class PhoneLogin(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: PhoneNumber
    code: SmsCode


class IdentityLoginResponse(LoginResponse):
    created: bool = Field(description="true when this log-in created the account")


class WechatAuthorization(BaseModel):
    url: str = Field(description="open it (or show it as a QR page) to log in with WeChat")
    state: str
    expires_in: int


class WechatWebLogin(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: OAuthValue
    state: OAuthValue


class WechatMiniLogin(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: OAuthValue


class EmailLink(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr = Field(max_length=254)
    password: str = Field(min_length=8, max_length=128)


class IdentityRead(BaseModel):
    id: int
    provider: Literal["password", "phone", "wechat"]
    label: str = Field(description="the email, the number with its middle hidden, or WeChat")
    created_at: datetime
    last_used_at: datetime | None
