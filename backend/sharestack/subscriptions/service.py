"""The subscriptions domain's surface for the API and for other domains (content asks about
access; payments reports paid periods and failed renewals, and claims due renewals)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from sharestack.cache.reads import CachedReads
from sharestack.db.base import utcnow
from sharestack.db.session import ReadSession, WriteSession
from sharestack.pagination import Cursors, Position
from sharestack.subscriptions import entitlements, repository
from sharestack.subscriptions.lifecycle import (
    CheckoutTerms,
    cancel,
    end_periods,
    paid,
    prepare_checkout,
    renewal_failed,
    renewal_terms,
    resume,
    set_auto_renew,
)
from sharestack.subscriptions.models import Subscription
from sharestack.subscriptions.renewal import RenewalClaim, claim_due
from sharestack.subscriptions.schemas import Page, SubscriptionRead
from sharestack.subscriptions.states import access_until

__all__ = [
    "CheckoutTerms",
    "RenewalClaim",
    "cancel",
    "claim_due",
    "end_periods",
    "has_access",
    "has_access_cached",
    "paid",
    "prepare_checkout",
    "renewal_failed",
    "renewal_terms",
    "resume",
    "set_auto_renew",
]


async def has_access(session: ReadSession, subscriber_id: int, creator_id: int) -> bool:
    """Whether the reader currently holds a subscription that grants access to the creator's
    subscribers-only content, read through ``session`` (uncached)."""
    until = await entitlements.access_until(session, subscriber_id)
    return until.get(creator_id, 0.0) > time.time()


async def has_access_cached(reads: CachedReads, subscriber_id: int, creator_id: int) -> bool:
    """The same answer from the entitlement cache (``subscriptions/entitlements.py``)."""
    return await entitlements.has_access(reads, subscriber_id, creator_id)


def as_read(subscription: Subscription) -> SubscriptionRead:
    until = access_until(
        subscription.status, subscription.current_period_end, subscription.grace_ends_at
    )
    return SubscriptionRead(
        id=subscription.id,
        plan_id=subscription.plan_id,
        creator_id=subscription.creator_id,
        subscriber_id=subscription.subscriber_id,
        status=subscription.status,
        current_period_start=subscription.current_period_start,
        current_period_end=subscription.current_period_end,
        cancel_at_period_end=subscription.cancel_at_period_end,
        auto_renew=subscription.auto_renew,
        grace_ends_at=subscription.grace_ends_at,
        has_access=until is not None and until > utcnow(),
        created_at=subscription.created_at,
    )


async def mine(session: WriteSession, subscriber_id: int) -> list[SubscriptionRead]:
    return [as_read(s) for s in await repository.for_subscriber(session, subscriber_id)]


async def subscribers(
    session: WriteSession, cursors: Cursors, creator_id: int, cursor: str | None, limit: int
) -> Page[SubscriptionRead]:
    after = cursors.decode_optional(cursor)
    before = after.id if after else None
    rows: Sequence[Subscription] = await repository.subscribers(
        session, creator_id, before, limit + 1
    )
    items = [as_read(s) for s in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = cursors.encode(Position(last.created_at, last.id))
    return Page[SubscriptionRead](items=items, next_cursor=next_cursor)
