from __future__ import annotations

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from sharestack.auth.passwords import MAX_LENGTH, MIN_LENGTH
from sharestack.auth.tokens import MAX_TOKEN_LENGTH

NEW_PASSWORD = Field(
    min_length=MIN_LENGTH,
    max_length=MAX_LENGTH,
    description="8–128 characters, not one of the 30,000 most common passwords (422 if it is)",
)
# The tokens we send are 43 URL-safe characters; anything else is refused before a query.
TOKEN = Field(min_length=1, max_length=MAX_TOKEN_LENGTH, pattern=r"^[A-Za-z0-9_-]+$")


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=MAX_LENGTH)
    new_password: str = NEW_PASSWORD


class ResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr = Field(max_length=254)


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = TOKEN
    new_password: str = NEW_PASSWORD


class EmailVerify(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = TOKEN


class Accepted(BaseModel):
    message: str
