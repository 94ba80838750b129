from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from sharestack.content.schemas import ContentRead
from sharestack.payments.schemas import PaymentRead
from sharestack.subscriptions.schemas import SubscriptionRead
from sharestack.users.schemas import MeRead


class AccountDelete(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="the current password: deleting needs a fresh proof that it is you",
    )
    phone_code: str | None = Field(
        default=None,
        pattern=r"^[0-9]{6}$",
        description="for an account without a password: the code just sent to its linked "
        "number (POST /api/v1/auth/phone/code)",
    )


class IdentityExport(BaseModel):
    """A way to sign in, without its secret."""

    provider: str
    identifier: str
    created_at: datetime
    last_used_at: datetime | None


class AccountExport(BaseModel):
    exported_at: datetime
    profile: MeRead
    identities: list[IdentityExport]
    contents: list[ContentRead]
    subscriptions: list[SubscriptionRead]
    payments: list[PaymentRead]
