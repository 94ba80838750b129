"""Plans: made by creators, edited, archived; never deleted. A price, currency or interval
change is a new plan version: the old row is archived (so existing subscribers keep renewing at
their price) and the new one points back at it."""

from __future__ import annotations

from collections.abc import Sequence

from sharestack.db.session import ReadSession, WriteSession
from sharestack.subscriptions import repository
from sharestack.subscriptions.exceptions import NotPlanCreator, PlanArchived, PlanNotFound
from sharestack.subscriptions.models import SubscriptionPlan
from sharestack.subscriptions.schemas import PlanCreate, PlanRead, PlanUpdate

PRICED = ("price_amount", "currency", "interval")


def as_read(plan: SubscriptionPlan) -> PlanRead:
    return PlanRead(
        id=plan.id,
        creator_id=plan.creator_id,
        name=plan.name,
        description=plan.description,
        price_amount=plan.price_amount,
        currency=plan.currency,
        interval=plan.interval,
        status="active" if plan.is_active else "archived",
        previous_id=plan.previous_id,
        created_at=plan.created_at,
        updated_at=plan.updated_at,
    )


async def create(session: WriteSession, creator_id: int, data: PlanCreate) -> SubscriptionPlan:
    plan = SubscriptionPlan(creator_id=creator_id, is_active=True, **data.model_dump())
    await repository.add(session, plan)
    return plan


async def get_for_creator(session: WriteSession, plan_id: int, user_id: int) -> SubscriptionPlan:
    plan = await repository.get_plan(session, plan_id)
    if plan is None:
        raise PlanNotFound()
    if plan.creator_id != user_id:
        raise NotPlanCreator()
    return plan


async def update(
    session: WriteSession, plan: SubscriptionPlan, changes: PlanUpdate
) -> SubscriptionPlan:
    if not plan.is_active:
        raise PlanArchived()
    data = changes.model_dump(exclude_unset=True, exclude_none=True)
    repriced = any(k in data and data[k] != getattr(plan, k) for k in PRICED)
    if not repriced:
        for field, value in data.items():
            setattr(plan, field, value)
        await session.flush()
        return plan
    # Archive first, conditionally: of two concurrent price changes only one makes a version.
    if not await repository.archive_plan(session, plan.id):
        raise PlanArchived()
    fields = {
        "name": plan.name,
        "description": plan.description,
        "price_amount": plan.price_amount,
        "currency": plan.currency,
        "interval": plan.interval,
    } | data
    successor = SubscriptionPlan(
        creator_id=plan.creator_id, is_active=True, previous_id=plan.id, **fields
    )
    await repository.add(session, successor)
    return successor


async def archive(session: WriteSession, plan: SubscriptionPlan) -> SubscriptionPlan:
    """Idempotent: archiving an archived plan answers with it unchanged."""
    await repository.archive_plan(session, plan.id)
    refreshed = await repository.get_plan(session, plan.id)
    assert refreshed is not None
    await session.refresh(refreshed)
    return refreshed


async def for_creator(
    session: ReadSession, creator_id: int, include_archived: bool = False
) -> Sequence[SubscriptionPlan]:
    return await repository.plans_for_creator(session, creator_id, include_archived)
