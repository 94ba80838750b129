from __future__ import annotations

import sqlalchemy as sa

from sharestack.auth.models import UserAuth
from sharestack.db.session import ReadSession, WriteSession


async def get_credential(session: ReadSession, provider: str, identifier: str) -> UserAuth | None:
    result = await session.execute(
        sa.select(UserAuth).where(UserAuth.provider == provider, UserAuth.identifier == identifier)
    )
    return result.scalar_one_or_none()


async def get_credential_by_id(session: ReadSession, credential_id: int) -> UserAuth | None:
    return await session.get(UserAuth, credential_id)


async def add_credential(session: WriteSession, credential: UserAuth) -> None:
    session.add(credential)
    await session.flush()


async def get_user_credential(session: ReadSession, user_id: int, provider: str) -> UserAuth | None:
    result = await session.execute(
        sa.select(UserAuth).where(UserAuth.user_id == user_id, UserAuth.provider == provider)
    )
    return result.scalars().first()


async def credentials_of(session: ReadSession, user_id: int) -> list[UserAuth]:
    result = await session.execute(
        sa.select(UserAuth).where(UserAuth.user_id == user_id).order_by(UserAuth.id)
    )
    return list(result.scalars().all())


async def delete_credentials(session: WriteSession, user_id: int) -> None:
    await session.execute(sa.delete(UserAuth).where(UserAuth.user_id == user_id))
