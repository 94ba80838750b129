from __future__ import annotations

import sqlalchemy as sa

from sharestack.db.session import ReadSession, WriteSession
from sharestack.users.models import User, UserProfile


async def get(session: ReadSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def get_by_email(session: ReadSession, email: str) -> User | None:
    result = await session.execute(sa.select(User).where(User.email == email))
    return result.scalar_one_or_none()


async def get_for_update(session: WriteSession, user_id: int) -> User | None:
    result = await session.execute(
        sa.select(User)
        .where(User.id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def get_profile(session: ReadSession, user_id: int) -> UserProfile | None:
    return await session.get(UserProfile, user_id)


async def add(session: WriteSession, *rows: User | UserProfile) -> None:
    session.add_all(rows)
    await session.flush()
