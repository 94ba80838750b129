from __future__ import annotations

from sharestack.cache import invalidation, keys
from sharestack.db.session import ReadSession, WriteSession
from sharestack.errors import NotFound
from sharestack.users import repository
from sharestack.users.models import User, UserProfile
from sharestack.users.schemas import ProfileRead, ProfileUpdate


async def get(session: ReadSession, user_id: int) -> User | None:
    return await repository.get(session, user_id)


async def get_by_email(session: ReadSession, email: str) -> User | None:
    return await repository.get_by_email(session, email)


async def get_profile(session: ReadSession, user_id: int) -> UserProfile | None:
    return await repository.get_profile(session, user_id)


async def create(session: WriteSession, *, email: str, display_name: str) -> User:
    user = User(email=email, status="active")
    await repository.add(session, user)
    await repository.add(session, UserProfile(user_id=user.id, display_name=display_name, bio=""))
    return user


async def update_profile(session: WriteSession, user_id: int, changes: ProfileUpdate) -> None:
    profile = await repository.get_profile(session, user_id)
    if profile is None:
        raise NotFound("Profile not found.")
    for field, value in changes.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(profile, field, value)
    await session.flush()
    invalidation.note(session, keys.scope_profile(user_id))


async def public_profile(session: ReadSession, user_id: int) -> ProfileRead:
    user = await repository.get(session, user_id)
    profile = await repository.get_profile(session, user_id)
    if user is None or profile is None or user.status != "active":
        raise NotFound("User not found.")
    return ProfileRead(
        id=user.id,
        display_name=profile.display_name,
        bio=profile.bio,
        avatar_url=profile.avatar_url,
    )
