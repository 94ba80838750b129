from __future__ import annotations

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from sharestack.users.schemas import DisplayName


class RegisterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr = Field(max_length=254)
    # Upper bound: argon2 hashes any length, but an unbounded password is a CPU lever.
    password: str = Field(min_length=8, max_length=128)
    display_name: DisplayName | None = None


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr = Field(max_length=254)
    password: str = Field(min_length=1, max_length=128)


class LoginResponse(BaseModel):
    token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    user_id: int
    expires_in: int
