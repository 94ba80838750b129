from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from sharestack.db.session import ReadSession
from sharestack.users.models import User

DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Bio = Annotated[str, StringConstraints(max_length=1000)]


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
    email: str
    created_at: datetime

    @classmethod
    async def load(cls, session: ReadSession, user: User) -> MeRead:
        from sharestack.users import service

        profile = await service.get_profile(session, user.id)
        return cls(
            id=user.id,
            email=user.email,
            display_name=profile.display_name if profile else "",
            bio=profile.bio if profile else "",
            avatar_url=profile.avatar_url if profile else None,
            created_at=user.created_at,
        )
