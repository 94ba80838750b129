from __future__ import annotations

from collections.abc import Sequence

from sharestack.db.session import ReadSession
from sharestack.subscriptions import repository
from sharestack.subscriptions.models import Subscription


async def has_access(session: ReadSession, subscriber_id: int, creator_id: int) -> bool:
    """Whether the reader currently holds a subscription that grants access to the creator's
    subscribers-only content."""
    return await repository.grants_access(session, subscriber_id, creator_id)


async def active_for_subscriber(session: ReadSession, subscriber_id: int) -> Sequence[Subscription]:
    return await repository.active_for_subscriber(session, subscriber_id)
