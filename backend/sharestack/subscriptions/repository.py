from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from sharestack.db.base import utcnow
from sharestack.db.session import ReadSession
from sharestack.subscriptions.models import ACCESS_STATUSES, Subscription


def _granting(subscriber_id: int) -> sa.ColumnElement[bool]:
    return sa.and_(
        Subscription.subscriber_id == subscriber_id,
        Subscription.status.in_(ACCESS_STATUSES),
        Subscription.current_period_end > utcnow(),
    )


async def active_for_subscriber(session: ReadSession, subscriber_id: int) -> Sequence[Subscription]:
    """A reader's subscriptions that grant access now, soonest renewal first
    (``ix_subscriptions_reader_active``). Sorted here, not in SQL: the IN over three statuses
    makes the index order per status, and one reader has a handful of rows."""
    rows = (
        await session.execute(sa.select(Subscription).where(_granting(subscriber_id)))
    ).scalars()
    return sorted(rows, key=lambda s: (s.current_period_end is None, s.current_period_end))


async def grants_access(session: ReadSession, subscriber_id: int, creator_id: int) -> bool:
    query = (
        sa.select(Subscription.id)
        .where(_granting(subscriber_id), Subscription.creator_id == creator_id)
        .limit(1)
    )
    return (await session.execute(query)).first() is not None
