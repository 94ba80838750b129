"""The ShareStack API application factory."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

import sharestack.job_index  # noqa: F401 - registers every job before the first request
from sharestack import api
from sharestack.admission import AdmissionMiddleware
from sharestack.auth.security import configure_hashing
from sharestack.background import cancel_and_wait
from sharestack.callers.dependencies import optional_caller, required_caller
from sharestack.config import Settings, get_settings
from sharestack.content.fastlane import FastLane
from sharestack.db.consistency import ReadYourWritesMiddleware
from sharestack.errors import install_error_handlers
from sharestack.health.router import router as health_router
from sharestack.logging import configure_logging
from sharestack.media.router import UPLOAD_ROUTES
from sharestack.metrics.loop_lag import watch_event_loop_lag
from sharestack.metrics.middleware import LatencyMiddleware
from sharestack.middleware import (
    BodyLimitMiddleware,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
)
from sharestack.openapi import install_docs, install_openapi
from sharestack.payments.runtime import build_providers
from sharestack.responses import ORJSONResponse
from sharestack.state import AppState


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The one write of app.state: handlers read it through sharestack.dependencies.
        app.state.sharestack = state = await AppState.start(settings, payments=build_providers)
        workers = settings.password_hash_concurrency or os.cpu_count() or 2
        queue = settings.password_hash_queue
        configure_hashing(
            workers, 2 * workers if queue is None else queue, settings.password_hash_max_wait
        )
        # Long-lived start-up objects need no collecting: freezing them keeps full GC passes
        # (and the latency spikes they cause under load) short.
        gc.collect()
        gc.freeze()
        lag_watch = (
            asyncio.create_task(watch_event_loop_lag(), name="event-loop-lag")
            if settings.metrics_enabled
            else None
        )
        try:
            yield
        finally:
            await cancel_and_wait(lag_watch)
            await state.stop()

    app = FastAPI(
        title="ShareStack API",
        version="0.1.0",
        description="Creator content subscriptions: accounts, content, subscriptions, payouts.",
        default_response_class=ORJSONResponse,
        lifespan=lifespan,
        # Served from the package by install_docs (no CDN); no OAuth2 flow to redirect.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    install_error_handlers(app)
    install_openapi(
        app,
        required_caller=required_caller,
        optional_caller=optional_caller,
        cookie_name=settings.session_cookie_name,
    )
    install_docs(app)
    app.include_router(health_router)
    if settings.metrics_enabled:
        from sharestack.health.metrics import router as metrics_router

        app.include_router(metrics_router)
    api.mount(app.router)
    if settings.media_storage == "local" and not settings.media_accel_redirect:
        # No nginx in front (embedded runs, development): the API serves public media itself,
        # from the same directory and under the same /media/ path nginx would.
        public = settings.resolved_media_root / "public"
        app.mount("/media", StaticFiles(directory=public, check_dir=False), name="media")
    if settings.bench_endpoints:
        from sharestack.health.baseline import router as baseline_router

        app.include_router(baseline_router)
    # Added first = innermost: a bounded number of routed requests in flight (admission), then,
    # outside it, anonymous reads the L1 holds answered before routing and without waiting for
    # a place; both inside every middleware below (request id, access log, latency, security
    # headers).
    app.add_middleware(
        AdmissionMiddleware,
        max_in_flight=settings.max_requests_in_flight,
        max_wait=settings.request_queue_seconds,
        ungated=frozenset(UPLOAD_ROUTES),
    )
    app.add_middleware(FastLane, session_cookie_name=settings.session_cookie_name)
    # Added last = outermost: the request id exists before anything else runs, and the security
    # headers go on every response, the middleware's own 413 and 500 included.
    app.add_middleware(ReadYourWritesMiddleware, cookie_secure=settings.cookie_secure)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        route_limits=dict.fromkeys(UPLOAD_ROUTES, settings.media_upload_body_bytes),
    )
    if settings.metrics_enabled:
        app.add_middleware(LatencyMiddleware)
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, session_cookie_name=settings.session_cookie_name)
    return app
