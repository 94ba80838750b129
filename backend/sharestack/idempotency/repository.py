"""Idempotency records, on the primary (``WriteSession``): a retry must find its first attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sharestack.db.base import utcnow
from sharestack.db.session import WriteSession
from sharestack.idempotency.models import IdempotencyRecord


def _rowcount(result: Any) -> int:
    return int(result.rowcount)


async def find_record(
    session: WriteSession, user_id: int, scope: str, key: str
) -> IdempotencyRecord | None:
    query = sa.select(IdempotencyRecord).where(
        IdempotencyRecord.user_id == user_id,
        IdempotencyRecord.scope == scope,
        IdempotencyRecord.key == key,
    )
    result = await session.execute(query.execution_options(populate_existing=True))
    return result.scalar_one_or_none()


async def take_over_record(
    session: WriteSession, record: IdempotencyRecord, lock_expires_at: datetime
) -> bool:
    """Claim an in-progress record whose owner died (its lock expired), once."""
    result = await session.execute(
        sa.update(IdempotencyRecord)
        .where(
            IdempotencyRecord.id == record.id,
            IdempotencyRecord.status == "in_progress",
            IdempotencyRecord.lock_expires_at == record.lock_expires_at,
        )
        .values(lock_expires_at=lock_expires_at)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def complete_record(session: WriteSession, record_id: int, status: int, body: bytes) -> bool:
    result = await session.execute(
        sa.update(IdempotencyRecord)
        .where(IdempotencyRecord.id == record_id, IdempotencyRecord.status == "in_progress")
        .values(
            status="completed",
            response_status=status,
            response_body=body.decode(),
            completed_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def delete_record(session: WriteSession, record_id: int, *, in_progress_only: bool) -> None:
    query = sa.delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id)
    if in_progress_only:
        query = query.where(IdempotencyRecord.status == "in_progress")
    await session.execute(query)


async def purge_records(session: WriteSession, now: datetime, limit: int = 1000) -> int:
    ids = (
        (
            await session.execute(
                sa.select(IdempotencyRecord.id)
                .where(IdempotencyRecord.expires_at < now)
                .order_by(IdempotencyRecord.expires_at)
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )
    if not ids:
        return 0
    await session.execute(sa.delete(IdempotencyRecord).where(IdempotencyRecord.id.in_(ids)))
    return len(ids)
