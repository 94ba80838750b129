"""Queries over ``user_auth`` for linked identities (``repository`` holds the log-in lookups)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from sharestack.auth.models import UserAuth
from sharestack.db.session import ReadSession, WriteSession


async def list_for_user(session: ReadSession, user_id: int) -> Sequence[UserAuth]:
    result = await session.execute(
        sa.select(UserAuth).where(UserAuth.user_id == user_id).order_by(UserAuth.id)
    )
    return result.scalars().all()


async def delete(session: WriteSession, credential: UserAuth) -> None:
    await session.delete(credential)
    await session.flush()
