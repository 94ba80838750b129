from __future__ import annotations

import sqlalchemy as sa

from sharestack.db.base import utcnow
from sharestack.db.session import ReadSession
from sharestack.subscriptions.models import ACCESS_STATUSES, Subscription


async def has_access(session: ReadSession, subscriber_id: int, creator_id: int) -> bool:
    """Whether the reader currently holds a subscription that grants access to the creator's
    subscribers-only content (served by ``ix_subscriptions_reader_active``)."""
    query = (
        sa.select(Subscription.id)
        .where(
            Subscription.subscriber_id == subscriber_id,
            Subscription.status.in_(ACCESS_STATUSES),
            Subscription.current_period_end > utcnow(),
            Subscription.creator_id == creator_id,
        )
        .limit(1)
    )
    return (await session.execute(query)).first() is not None
