"""The payouts queries. Everything takes a ``WriteSession``: payouts are money, read on the
primary (a creator's own payouts right after requesting one must include it), except the
creator's page of payouts, which a replica may serve."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from sharestack.db.session import ReadSession, WriteSession
from sharestack.pagination import Position
from sharestack.payouts.models import (
    FINAL_PAYOUT_STATUSES,
    Payout,
    PayoutAccount,
)
from sharestack.payouts.rules import LEASE


def _is_mysql(session: ReadSession) -> bool:
    return session.get_bind().dialect.name in ("mysql", "mariadb")


# -- accounts --------------------------------------------------------------------------------------
async def get_account(session: WriteSession, account_id: int) -> PayoutAccount | None:
    return await session.get(PayoutAccount, account_id)


async def find_account(
    session: WriteSession, creator_id: int, provider: str, identity: str
) -> PayoutAccount | None:
    query = sa.select(PayoutAccount).where(
        PayoutAccount.creator_id == creator_id,
        PayoutAccount.provider == provider,
        PayoutAccount.identity == identity,
    )
    return (await session.execute(query)).scalar_one_or_none()


async def list_accounts(session: ReadSession, creator_id: int) -> Sequence[PayoutAccount]:
    query = (
        sa.select(PayoutAccount)
        .where(PayoutAccount.creator_id == creator_id)
        .order_by(PayoutAccount.id)
    )
    return (await session.execute(query)).scalars().all()


# -- payouts ---------------------------------------------------------------------------------------
async def day_totals(
    session: WriteSession, creator_id: int, start: datetime, end: datetime
) -> tuple[int, int]:
    """How many payouts the creator requested in [start, end), and their total, not counting
    those that failed or were cancelled (their money came back)."""
    query = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(Payout.amount), 0)).where(
        Payout.creator_id == creator_id,
        Payout.created_at >= start,
        Payout.created_at < end,
        Payout.status.not_in(("failed", "cancelled")),
    )
    count, total = (await session.execute(query)).one()
    return int(count), int(total)


async def get_payout(
    session: WriteSession, payout_id: int, *, for_update: bool = False
) -> Payout | None:
    query = sa.select(Payout).where(Payout.id == payout_id)
    if for_update:
        query = query.with_for_update()
    return (
        await session.execute(query.execution_options(populate_existing=True))
    ).scalar_one_or_none()


async def payouts_page(
    session: ReadSession, creator_id: int, after: Position | None, limit: int
) -> Sequence[Payout]:
    """Newest first by (created_at, id): ``ix_payouts_creator_id_created_at`` (InnoDB appends
    the primary key to it, so the id tiebreak needs no sort)."""
    query = sa.select(Payout).where(Payout.creator_id == creator_id)
    if after is not None:
        query = query.where(
            sa.or_(
                Payout.created_at < after.published_at,
                sa.and_(Payout.created_at == after.published_at, Payout.id < after.id),
            )
        )
    query = query.order_by(Payout.created_at.desc(), Payout.id.desc()).limit(limit)
    return (await session.execute(query)).scalars().all()


async def claim_due(session: WriteSession, now: datetime, limit: int) -> Sequence[Payout]:
    """Payouts whose next attempt is due, oldest first, locked with ``SKIP LOCKED`` so that
    concurrent senders split them (SQLite has one writer and ignores the clause)."""
    query = (
        sa.select(Payout)
        .where(Payout.next_attempt_at <= now, Payout.status.not_in(FINAL_PAYOUT_STATUSES))
        .order_by(Payout.next_attempt_at, Payout.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.execute(query)).scalars().all()


async def make_due(session: WriteSession, payout_id: int, now: datetime) -> bool:
    """Bring a sent, unfinished payout's next look to now (True: it is due). Not while a
    sender may hold it (claimed or recorded within ``rules.LEASE``): its own schedule looks soon
    enough, and a second sender must never race the first."""
    result = await session.execute(
        sa.update(Payout)
        .where(
            Payout.id == payout_id,
            Payout.status.not_in(FINAL_PAYOUT_STATUSES),
            Payout.attempts > 0,
            Payout.next_attempt_at.is_not(None),
            Payout.updated_at <= now - LEASE,
        )
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def payout_by_digest(session: WriteSession, digest: str) -> Payout | None:
    query = sa.select(Payout.id).where(Payout.idempotency_key == digest)
    found = (await session.execute(query)).scalar_one_or_none()
    return None if found is None else await session.get(Payout, found)
