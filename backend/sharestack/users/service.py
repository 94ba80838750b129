from __future__ import annotations

from pydantic_core import to_json

from sharestack.cache import invalidation, keys
from sharestack.cache.reads import CachedReads
from sharestack.db.base import utcnow
from sharestack.db.session import ReadSession, WriteSession
from sharestack.errors import NotFound
from sharestack.users import repository
from sharestack.users.models import User, UserProfile
from sharestack.users.schemas import MeRead, ProfileRead, ProfileUpdate


async def get(session: ReadSession, user_id: int) -> User | None:
    return await repository.get(session, user_id)


async def get_by_email(session: ReadSession, email: str) -> User | None:
    return await repository.get_by_email(session, email)


async def get_profile(session: ReadSession, user_id: int) -> UserProfile | None:
    return await repository.get_profile(session, user_id)


async def create(session: WriteSession, *, email: str | None, display_name: str) -> User:
    user = User(email=email, status="active")
    await repository.add(session, user)
    await repository.add(session, UserProfile(user_id=user.id, display_name=display_name, bio=""))
    return user


async def lock(session: WriteSession, user_id: int) -> User | None:
    """The user row, locked until the transaction ends: changes to a user's identities take it
    first, so two concurrent unlinks cannot both see "one left" and leave none."""
    return await repository.get_for_update(session, user_id)


async def set_email(session: WriteSession, user: User, email: str | None) -> None:
    """The account's address (canonical form), or None once its email identity is unlinked."""
    user.email = email
    await session.flush()


async def update_profile(session: WriteSession, user_id: int, changes: ProfileUpdate) -> None:
    profile = await repository.get_profile(session, user_id)
    if profile is None:
        raise NotFound("Profile not found.")
    for field, value in changes.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(profile, field, value)
    await session.flush()
    invalidation.note(session, keys.scope_profile(user_id))


async def me(session: ReadSession, user: User) -> MeRead:
    """The signed-in user's own account, as ``GET /me`` shows it."""
    profile = await repository.get_profile(session, user.id)
    return MeRead(
        id=user.id,
        email=user.email,
        email_verified_at=user.email_verified_at,
        display_name=profile.display_name if profile else "",
        bio=profile.bio if profile else "",
        avatar_url=profile.avatar_url if profile else None,
        created_at=user.created_at,
    )


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


# Public profiles are cached (cache-aside, ``sharestack.cache``); ``update_profile`` drops them.
PROFILE_PAYLOAD = keys.payload_version(ProfileRead)


async def public_profile_json(reads: CachedReads, user_id: int) -> bytes:
    """The public profile as cached JSON bytes; NotFound for a missing or disabled user."""

    async def fill(session: ReadSession) -> bytes | None:
        try:
            return to_json(await public_profile(session, user_id))
        except NotFound:
            return None

    body = await reads.get(keys.profile(reads.prefix, user_id, PROFILE_PAYLOAD), fill)
    if body is None:
        raise NotFound("User not found.")
    return body


async def mark_email_verified(session: WriteSession, user: User) -> None:
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        await session.flush()
