"""Admission: at most ``max_in_flight`` routed requests in one API process at once; the others
wait their turn in arrival order (``asyncio.Semaphore`` is FIFO) before any of their work
starts.

Why: under more load than the process's core can serve, every request admitted adds its CPU to
the event loop's queue, so each of their awaits (a database round trip, a Redis reply) waits
behind all the others. A write then holds its pooled connection across those waits, the pool
runs dry, and a sub-millisecond statement takes hundreds of milliseconds in the API. With a
bounded number in flight, the work in progress finishes at the speed of the core and the rest
waits at the door, where the wait is visible (``sharestack_admission_wait_seconds``) and
bounded: a request that waited ``max_wait`` seconds is answered 503 with ``Retry-After``, never
started late for a client that has long given up. Throughput is the same; what changes is where
requests wait.

Not gated: health checks and /metrics (they must answer under load), the upload routes (they
stream a body for seconds; their size and number are bounded by their own limits), and what
the fast lane answers before routing (``content.fastlane``, it sits outside this layer).
"""

from __future__ import annotations

import asyncio
import time

from starlette.types import ASGIApp, Receive, Scope, Send

from sharestack.errors import error_body
from sharestack.metrics.registry import ADMISSION_REFUSED, ADMISSION_WAIT
from sharestack.middleware import send_json

_UNGATED_PREFIXES = ("/healthz", "/readyz", "/metrics")


class AdmissionMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_in_flight: int,
        max_wait: float,
        ungated: frozenset[tuple[str, str]] = frozenset(),
    ) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.max_wait = max_wait
        self.ungated = ungated
        self._places: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if (
            scope["type"] != "http"
            or path.startswith(_UNGATED_PREFIXES)
            or (scope["method"], path.rstrip("/") or "/") in self.ungated
        ):
            await self.app(scope, receive, send)
            return
        if self._places is None:  # created on the serving loop
            self._places = asyncio.Semaphore(self.max_in_flight)
        places = self._places
        started = time.perf_counter()
        if places.locked():  # no place free, or others waiting already (FIFO)
            try:
                await asyncio.wait_for(places.acquire(), self.max_wait)
            except TimeoutError:
                ADMISSION_REFUSED.inc()
                body = error_body("overloaded", "The server is busy; retry after Retry-After.")
                await send_json(send, 503, body, headers=[(b"retry-after", b"1")])
                return
        else:
            await places.acquire()
        ADMISSION_WAIT.observe(time.perf_counter() - started)
        try:
            await self.app(scope, receive, send)
        finally:
            places.release()
