"""Payment reads. Everything here takes a ``WriteSession``: money is always read on the primary,
where a retry that repeats an idempotency key must find the first attempt."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from sharestack.db.session import WriteSession
from sharestack.payments.models import Payment


async def get_by_idempotency_key(session: WriteSession, key: str) -> Payment | None:
    result = await session.execute(sa.select(Payment).where(Payment.idempotency_key == key))
    return result.scalar_one_or_none()


async def list_for_user(session: WriteSession, user_id: int, limit: int = 50) -> Sequence[Payment]:
    query = (
        sa.select(Payment)
        .where(Payment.user_id == user_id)
        .order_by(Payment.created_at.desc(), Payment.id.desc())
        .limit(limit)
    )
    return (await session.execute(query)).scalars().all()
