"""Every route that takes a secret or sends a message carries the stricter per-IP auth limit."""

from __future__ import annotations

from fastapi.routing import APIRoute, iter_route_contexts

from sharestack.callers.limits import auth_rate_limit
from sharestack.config import Settings
from sharestack.main import create_app
from sharestack.openapi import _tree

GUARDED = {
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/me/password"),
    ("POST", "/api/v1/auth/password/forgot"),
    ("POST", "/api/v1/auth/password/reset"),
    ("POST", "/api/v1/me/email/verification"),
    ("POST", "/api/v1/auth/email/verify"),
    ("DELETE", "/api/v1/me"),
}


def _limited() -> set[tuple[str, str]]:
    app = create_app(Settings(_env_file=None, log_level="WARNING"))
    found: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute):
            continue
        if auth_rate_limit in {d.call for d in _tree(route.dependant)}:
            found |= {(method, route.path_format) for method in route.methods or ()}
    return found


def test_secret_and_message_routes_have_the_auth_limit() -> None:
    limited = _limited()
    assert limited >= GUARDED, sorted(GUARDED - limited)
