"""The API's routes are added flat (``sharestack.api.mount``) for speed; what they say must be
exactly what including the domain routers would say: the same OpenAPI document, the same
dependencies per route. No I/O."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute

from sharestack import api
from sharestack.callers.limits import api_rate_limit
from sharestack.config import Settings
from sharestack.main import create_app
from sharestack.openapi import errors


def _included() -> FastAPI:
    """The reference: the same app with the domain routers included the ordinary way."""
    limited = APIRouter(dependencies=[Depends(api_rate_limit)], responses=errors(429, 503))
    for router in api.LIMITED:
        limited.include_router(router)
    reference = APIRouter(prefix=api.PREFIX)
    reference.include_router(limited)
    for router in api.UNLIMITED:
        reference.include_router(router)
    app = create_app(Settings(_env_file=None))
    app.router.routes[:] = [
        r for r in app.router.routes if not (isinstance(r, APIRoute) and r.path.startswith("/api/"))
    ]
    app.include_router(reference)
    app.openapi_schema = None
    return app


def test_the_flat_routes_document_what_included_routers_would() -> None:
    flat: dict[str, Any] = create_app(Settings(_env_file=None)).openapi()
    included: dict[str, Any] = _included().openapi()
    assert list(flat["paths"]) == list(included["paths"])
    assert flat == included


def test_every_api_route_is_flat_and_rate_limited_but_the_webhooks() -> None:
    app = create_app(Settings(_env_file=None))
    routes = [r for r in app.router.routes if isinstance(r, APIRoute) and r.path.startswith("/api")]
    webhooks = {r.path for router in api.UNLIMITED for r in router.routes}
    assert len(routes) == sum(len(r.routes) for r in [*api.LIMITED, *api.UNLIMITED])
    for route in routes:
        limited = any(d.dependency is api_rate_limit for d in route.dependencies)
        assert limited == (route.path.removeprefix(api.PREFIX) not in webhooks), route.path
