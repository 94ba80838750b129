"""The ShareStack API application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from sharestack.api import api_router
from sharestack.auth.sessions import SessionStore
from sharestack.cache.http import install_redis_error_handlers
from sharestack.cache.redis import RedisRoles
from sharestack.config import Environment, Settings, get_settings
from sharestack.db.consistency import ReadYourWritesMiddleware
from sharestack.db.engine import Database
from sharestack.errors import install_error_handlers
from sharestack.health.router import default_checks, replica_checks
from sharestack.health.router import router as health_router
from sharestack.logging import configure_logging
from sharestack.metrics.middleware import LatencyMiddleware
from sharestack.metrics.router import router as metrics_router
from sharestack.middleware import BodyLimitMiddleware, RequestContextMiddleware
from sharestack.responses import ORJSONResponse


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db = Database(settings)
        if settings.metrics_enabled:  # database time per checkout, into /metrics
            from sharestack.metrics.db import instrument_database

            instrument_database(app.state.db)
        app.state.redis = RedisRoles.from_settings(settings)
        app.state.sessions = SessionStore(app.state.redis, settings)
        app.state.readiness = [*default_checks(app), replica_checks(app)]
        await app.state.db.start()
        _start_redis_tier(app, settings)
        # Long-lived start-up objects need no collecting: freezing them keeps full GC passes
        # (and the latency spikes they cause under load) short.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await _stop_redis_tier(app)
            await app.state.redis.close()
            await app.state.db.dispose()

    app = FastAPI(
        title="ShareStack API",
        version="0.1.0",
        description="Creator content subscriptions: accounts, content, subscriptions, payouts.",
        default_response_class=ORJSONResponse,
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    install_redis_error_handlers(app)
    app.include_router(health_router)
    if settings.metrics_enabled:
        app.include_router(metrics_router)
    app.include_router(api_router)
    if settings.bench_endpoints:
        from sharestack.health.baseline import router as baseline_router

        app.include_router(baseline_router)
    # Added last = outermost: the request id exists before anything else runs.
    app.add_middleware(
        ReadYourWritesMiddleware,
        cookie_secure=settings.cookie_secure,
        expose_servers=settings.environment is Environment.test,
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.metrics_enabled:
        app.add_middleware(LatencyMiddleware)
    app.add_middleware(RequestContextMiddleware)
    return app


def _start_redis_tier(app: FastAPI, settings: Settings) -> None:
    """The cache, the rate limiter and the job relay, on the role clients opened above."""
    from sharestack.cache.aside import CacheAside
    from sharestack.cache.invalidation import after_commit_hook
    from sharestack.jobs.context import JobContext
    from sharestack.jobs.runtime import ApiJobs
    from sharestack.ratelimit.dependencies import RateLimits
    from sharestack.ratelimit.limiter import RateLimiter

    roles: RedisRoles = app.state.redis
    roles.start()
    app.state.cache = CacheAside(
        roles.cache if settings.cache_enabled else None,
        prefix=roles.key("cache"),
        stampede_guard=settings.cache_stampede_guard,
    )
    app.state.db.after_commit_hooks.append(after_commit_hook(app.state.cache, app.state.db))
    app.state.rate_limits = RateLimits.from_settings(settings)
    app.state.ratelimiter = (
        RateLimiter(roles.ratelimit, roles.key("rl")) if settings.rate_limit_enabled else None
    )
    app.state.jobs = ApiJobs(
        JobContext(settings=settings, db=app.state.db, redis=roles, cache=app.state.cache)
    )
    app.state.jobs.start()


async def _stop_redis_tier(app: FastAPI) -> None:
    await app.state.jobs.stop()
    await app.state.cache.aclose()
