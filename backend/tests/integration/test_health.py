from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from sharestack.dependencies import app_state
from sharestack.readiness import CheckResult

pytestmark = pytest.mark.integration


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200
    checks = r.json()["checks"]
    assert {"database", "redis_sessions", "redis_cache", "media_storage"} <= set(checks)
    assert all(c["ok"] and c["latency_ms"] >= 0 for c in checks.values())


async def test_readyz_names_what_failed(client: httpx.AsyncClient, app: FastAPI) -> None:
    async def broken() -> CheckResult:
        return CheckResult("database", False, 1.0, "OperationalError: gone")

    app_state(app).readiness.append(broken)
    try:
        r = await client.get("/readyz")
    finally:
        app_state(app).readiness.remove(broken)
    assert r.status_code == 503
    assert r.json()["status"] == "fail"
    assert r.json()["failed"] == ["database"]


async def test_request_id_is_kept_or_made(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz", headers={"X-Request-ID": "trace-123"})
    assert r.headers["x-request-id"] == "trace-123"
    made = (await client.get("/healthz")).headers["x-request-id"]
    assert len(made) == 32
    # Something that could forge log lines is replaced, not echoed.
    r = await client.get("/healthz", headers={"X-Request-ID": 'x" injected'})
    assert r.headers["x-request-id"] != 'x" injected'


async def test_openapi_docs(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
    spec = (await client.get("/openapi.json")).json()
    assert "/api/v1/contents" in spec["paths"]
