"""Every dependency of every route is ``async``: FastAPI runs a plain ``def`` dependency in its
thread pool, a thread hand-off per dependency per request (on a cached read, five of them cost
more than the read itself). A dependency that must block belongs in ``run_in_threadpool`` inside
an async one, where the cost is visible. No I/O: the app is built, never started."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant

from sharestack.config import Settings
from sharestack.main import create_app


def _dependants(app: FastAPI) -> Iterator[tuple[str, Dependant]]:
    """(route path, its dependant) for every API route, however deeply its router is included."""

    def walk(routes: list[Any]) -> Iterator[tuple[str, Dependant]]:
        for route in routes:
            if hasattr(route, "effective_route_contexts"):  # an included router
                for context in route.effective_route_contexts():
                    if getattr(context, "dependant", None) is not None:
                        yield context.path, context.dependant
            elif getattr(route, "dependant", None) is not None:
                yield route.path, route.dependant

    yield from walk(app.routes)


def _is_async(call: Any) -> bool:
    return (
        inspect.iscoroutinefunction(call)
        or inspect.isasyncgenfunction(call)
        or inspect.iscoroutinefunction(getattr(call, "__call__", None))  # noqa: B004
    )


def test_no_route_depends_on_a_sync_function() -> None:
    app = create_app(Settings(_env_file=None))
    seen: set[str] = set()
    sync: set[str] = set()

    def check(dependant: Dependant) -> None:
        for sub in dependant.dependencies:
            if sub.call is not None:
                name = f"{sub.call.__module__}.{sub.call.__qualname__}"
                seen.add(name)
                if not _is_async(sub.call):
                    sync.add(name)
            check(sub)

    paths = set()
    for path, dependant in _dependants(app):
        paths.add(path)
        check(dependant)
    # The walk reached the API's routes and their shared dependencies.
    assert "/api/v1/contents/slug/{slug}" in paths
    assert "sharestack.callers.limits.api_rate_limit" in seen
    assert "sharestack.dependencies.get_state" in seen
    assert not sync, sorted(sync)
