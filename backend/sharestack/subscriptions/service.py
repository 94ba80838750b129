from __future__ import annotations

from sharestack.db.session import ReadSession
from sharestack.subscriptions import repository


async def has_access(session: ReadSession, subscriber_id: int, creator_id: int) -> bool:
    """Whether the reader currently holds a subscription that grants access to the creator's
    subscribers-only content."""
    return await repository.grants_access(session, subscriber_id, creator_id)
