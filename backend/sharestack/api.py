"""Mounts every domain's routes under /api/v1."""

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Depends, params
from fastapi.routing import APIRoute

from sharestack.accounts.router import router as accounts_router
from sharestack.auth.identity_router import me_router as identities_router
from sharestack.auth.identity_router import router as phone_wechat_router
from sharestack.auth.password_router import router as passwords_router
from sharestack.auth.router import router as auth_router
from sharestack.callers.limits import api_rate_limit
from sharestack.callers.router import router as sessions_router
from sharestack.content.router import router as content_router
from sharestack.media.router import router as media_router
from sharestack.openapi import errors
from sharestack.payments.router import router as payments_router
from sharestack.payments.router import webhook_router
from sharestack.payouts.router import router as payouts_router
from sharestack.subscriptions.router import router as subscriptions_router
from sharestack.users.router import router as users_router

PREFIX = "/api/v1"
# Every route here is rate limited (429) and resolves the caller in Redis (503 when it is down).
LIMITED = [
    auth_router,
    phone_wechat_router,
    identities_router,
    passwords_router,
    users_router,
    sessions_router,
    accounts_router,
    content_router,
    media_router,
    subscriptions_router,
    payments_router,
    payouts_router,
]
# Provider notifications: outside the per-IP limit (providers retry from a few addresses).
UNLIMITED = [webhook_router]


def mount(target: APIRouter) -> None:
    """Add every API route to ``target`` (the app's own router) as a route of its own.

    Not ``include_router``: an included router is matched level by level on every request (the
    router, then the router it includes, each scanning its routes again when it hands the request
    on), which cost a routed request about a fifth of its CPU; a flat list is one pass of regular
    expressions. The routes are the same ones, with the same prefix, dependencies, responses and
    OpenAPI entries (a unit test compares the document with the included routers')."""
    limit = [Depends(api_rate_limit)]
    for router in LIMITED:
        add_routes(target, router, prefix=PREFIX, dependencies=limit, responses=errors(429, 503))
    for router in UNLIMITED:
        add_routes(target, router, prefix=PREFIX)


def add_routes(
    target: APIRouter,
    router: APIRouter,
    *,
    prefix: str = "",
    dependencies: Sequence[params.Depends] = (),
    responses: dict[int | str, dict[str, Any]] | None = None,
) -> None:
    """What ``target.include_router(router, prefix=..., dependencies=..., responses=...)`` adds,
    as plain routes of ``target``."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            raise TypeError(f"{route!r}: only API routes can be added flat")
        target.add_api_route(
            prefix + route.path,
            route.endpoint,
            response_model=route.response_model,
            status_code=route.status_code,
            tags=list(route.tags),
            dependencies=[*dependencies, *route.dependencies],
            summary=route.summary,
            description=route.description,
            response_description=route.response_description,
            responses={**(responses or {}), **route.responses},
            deprecated=route.deprecated,
            methods=route.methods,
            operation_id=route.operation_id,
            response_model_include=route.response_model_include,
            response_model_exclude=route.response_model_exclude,
            response_model_by_alias=route.response_model_by_alias,
            response_model_exclude_unset=route.response_model_exclude_unset,
            response_model_exclude_defaults=route.response_model_exclude_defaults,
            response_model_exclude_none=route.response_model_exclude_none,
            include_in_schema=route.include_in_schema,
            response_class=route.response_class,
            name=route.name,
            callbacks=route.callbacks,
            openapi_extra=route.openapi_extra,
            generate_unique_id_function=route.generate_unique_id_function,
        )
