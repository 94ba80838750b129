"""Request latency histogram, labelled by the matched route's handler name (not the raw path:
ids would explode the label set; not the route's path either, which FastAPI keeps relative to its
router) and status. Pure ASGI like the other middleware: no buffering on the hot path."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sharestack.metrics.registry import REQUEST_LATENCY


class LatencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            handler = getattr(scope.get("route"), "name", None) or "unmatched"
            REQUEST_LATENCY.labels(scope["method"], handler, str(status)).observe(
                time.perf_counter() - started
            )
