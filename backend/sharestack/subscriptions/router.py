"""Plans (creators) and subscriptions (readers). Money never moves here: checkouts and refunds
are in ``payments``. Subscription reads are on the primary (they decide about access and
billing); the public plan list may be served by a replica."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from sharestack.callers.dependencies import CurrentCaller
from sharestack.dependencies import CursorsDep, ReadSessionDep, WriteSessionDep
from sharestack.openapi import errors
from sharestack.subscriptions import lifecycle, plans, service
from sharestack.subscriptions.schemas import (
    Page,
    PlanCreate,
    PlanRead,
    PlanUpdate,
    SubscriptionRead,
)

router = APIRouter(
    tags=["subscriptions"], responses=errors(404, 409)
)  # lookups by id: 404 when not the caller's

Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Cursor = Annotated[str | None, Query()]  # a cursor that does not verify is a 422
Limit = Annotated[int, Query(ge=1, le=50)]


@router.post("/plans", status_code=status.HTTP_201_CREATED)
async def create_plan(
    body: PlanCreate, caller: CurrentCaller, session: WriteSessionDep
) -> PlanRead:
    return plans.as_read(await plans.create(session, caller.user_id, body))


@router.patch("/plans/{plan_id}")
async def update_plan(
    plan_id: Id, body: PlanUpdate, caller: CurrentCaller, session: WriteSessionDep
) -> PlanRead:
    """A price, currency or interval change answers with the new plan version."""
    plan = await plans.get_for_creator(session, plan_id, caller.user_id)
    return plans.as_read(await plans.update(session, plan, body))


@router.post("/plans/{plan_id}/archive")
async def archive_plan(plan_id: Id, caller: CurrentCaller, session: WriteSessionDep) -> PlanRead:
    plan = await plans.get_for_creator(session, plan_id, caller.user_id)
    return plans.as_read(await plans.archive(session, plan))


@router.get("/creators/{creator_id}/plans")
async def creator_plans(
    creator_id: Id, session: ReadSessionDep, include_archived: bool = False
) -> list[PlanRead]:
    rows = await plans.for_creator(session, creator_id, include_archived)
    return [plans.as_read(p) for p in rows]


@router.get("/me/subscriptions")
async def my_subscriptions(
    caller: CurrentCaller, session: WriteSessionDep
) -> list[SubscriptionRead]:
    return await service.mine(session, caller.user_id)


@router.post("/subscriptions/{subscription_id}/cancel")
async def cancel_subscription(
    subscription_id: Id, caller: CurrentCaller, session: WriteSessionDep
) -> SubscriptionRead:
    """Cancel at period end: access lasts until ``current_period_end``; nothing renews."""
    return service.as_read(await lifecycle.cancel(session, subscription_id, caller.user_id))


@router.post("/subscriptions/{subscription_id}/resume")
async def resume_subscription(
    subscription_id: Id, caller: CurrentCaller, session: WriteSessionDep
) -> SubscriptionRead:
    return service.as_read(await lifecycle.resume(session, subscription_id, caller.user_id))


@router.get("/me/subscribers")
async def my_subscribers(
    caller: CurrentCaller,
    session: WriteSessionDep,
    cursors: CursorsDep,
    cursor: Cursor = None,
    limit: Limit = 20,
) -> Page[SubscriptionRead]:
    """The caller's (a creator's) subscribers that hold access, newest first."""
    return await service.subscribers(session, cursors, caller.user_id, cursor, limit)
