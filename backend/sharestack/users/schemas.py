from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from sharestack.text import MultiLine, SingleLine

# Stripped, then at least one character: the pattern says so in the OpenAPI document too (a
# minLength of 1 alone promised that "\n" was a valid name).
DisplayName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"\S"),
    SingleLine,
]
Bio = Annotated[str, StringConstraints(max_length=1000), MultiLine]


class ProfileUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName | None = None
    bio: Bio | None = None


class ProfileRead(BaseModel):
    id: int
    display_name: str
    bio: str
    avatar_url: str | None


class MeRead(ProfileRead):
    # None for an account that signed up by phone or WeChat and has linked no email.
    email: str | None
    # None until the owner follows a verification (or password-reset) link sent to ``email``.
    email_verified_at: datetime | None = None
    created_at: datetime
