"""Log-ins beyond what the password bulkhead holds are shed at once (503 + Retry-After), and
those it admits all finish."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from sharestack.auth import security
from sharestack.config import Settings
from sharestack.main import create_app
from tests.support.io_counts import counting

pytestmark = pytest.mark.integration


@pytest.fixture
async def small_bulkhead(migrated: Settings) -> AsyncIterator[FastAPI]:
    settings = migrated.model_copy(
        update={"password_hash_concurrency": 1, "password_hash_queue": 2}
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_a_login_burst_is_shed_not_queued(small_bulkhead: FastAPI) -> None:
    transport = httpx.ASGITransport(app=small_bulkhead)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:

        async def login(i: int) -> tuple[httpx.Response, float]:
            started = time.perf_counter()
            body = {"email": f"nobody{i}@example.com", "password": "wrong password"}
            r = await client.post("/api/v1/auth/login", json=body)
            return r, time.perf_counter() - started

        results = await asyncio.gather(*(login(i) for i in range(30)))
    statuses = [r.status_code for r, _ in results]
    checked = [r for r in statuses if r == 401]  # reached the password check
    shed = [(r, t) for r, t in results if r.status_code == 503]
    print(f"\nlogin burst of 30, bulkhead 1 + 2: {len(checked)} checked, {len(shed)} shed")
    assert set(statuses) <= {401, 503}, statuses
    assert 1 <= len(checked) <= 3 + 3  # the bulkhead's capacity, give or take a finished hash
    assert len(shed) >= 20
    assert all(r.json()["error"]["code"] == "overloaded" for r, _ in shed)
    assert all(int(r.headers["Retry-After"]) >= 1 for r, _ in shed)
    # Shed at once: a refusal never waited for the hashes ahead of it.
    assert max(t for _, t in shed) < min(t for r, t in results if r.status_code == 401) + 0.5


async def test_a_shed_login_costs_no_database_read_and_no_limiter_round_trip(
    small_bulkhead: FastAPI,
) -> None:
    """While the bulkhead is full, a log-in is refused before the auth limit's Redis script and
    before the user is looked up: a flood of refused log-ins cannot crowd out the admitted ones."""
    transport = httpx.ASGITransport(app=small_bulkhead)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        body = {"email": "nobody@example.com", "password": "wrong password"}
        url = "/api/v1/auth/login"
        admitted = [asyncio.create_task(client.post(url, json=body)) for _ in range(3)]
        for _ in range(200):  # until the three fill the worker and both waiting places
            if security._bulkhead.admitted >= 3:
                break
            await asyncio.sleep(0.01)
        with counting() as counts:
            refused = await client.post(url, json=body)
        results = await asyncio.gather(*admitted)
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "overloaded"
    assert counts.statements == [], counts.describe()
    # At most the anonymous API limit's lease (in-process when a cell is left), never the
    # auth limit's script (EVALSHA per request).
    assert counts.redis in ([], ["EVALSHA"]), counts.describe()
    assert [r.status_code for r in results] == [401, 401, 401]
