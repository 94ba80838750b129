"""Admission (sharestack.admission) around a stand-in ASGI app: never more than the bound in
flight, the rest served in arrival order, a wait past the limit answered 503 with Retry-After in
the one error shape, and the routes that must not wait pass. No I/O."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from sharestack.admission import AdmissionMiddleware


class _Slow:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.in_flight = 0
        self.most = 0
        self.order: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        self.order.append(scope["path"])
        await asyncio.sleep(self.seconds)
        self.in_flight -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


async def _call(app: Any, path: str, method: str = "GET") -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    await app({"type": "http", "method": method, "path": path, "headers": []}, receive, send)
    return sent[0]["status"], dict(sent[0]["headers"]), sent[1]["body"]


async def test_no_more_than_the_bound_in_flight_and_first_come_first_served() -> None:
    inner = _Slow(0.02)
    app = AdmissionMiddleware(inner, max_in_flight=2, max_wait=5.0)
    paths = [f"/api/v1/x/{i}" for i in range(10)]
    results = await asyncio.gather(*(_call(app, p) for p in paths))
    assert [status for status, _, _ in results] == [200] * 10
    assert inner.most == 2
    assert inner.order == paths


async def test_a_wait_past_the_limit_is_refused_at_once_with_retry_after() -> None:
    inner = _Slow(0.3)
    app = AdmissionMiddleware(inner, max_in_flight=1, max_wait=0.05)
    results = await asyncio.gather(*(_call(app, f"/api/v1/x/{i}") for i in range(3)))
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200, 503, 503]
    _, headers, body = next(r for r in results if r[0] == 503)
    assert headers[b"retry-after"] == b"1"
    assert orjson.loads(body)["error"]["code"] == "overloaded"


async def test_health_metrics_and_uploads_never_wait() -> None:
    inner = _Slow(0.2)
    upload = ("POST", "/api/v1/media")
    app = AdmissionMiddleware(inner, max_in_flight=1, max_wait=0.01, ungated=frozenset({upload}))
    busy = asyncio.create_task(_call(app, "/api/v1/x"))
    await asyncio.sleep(0.01)
    others = await asyncio.gather(
        _call(app, "/healthz"), _call(app, "/metrics"), _call(app, "/api/v1/media", "POST")
    )
    assert [status for status, _, _ in others] == [200, 200, 200]
    assert (await busy)[0] == 200
