"""The benchmark's hooks in the application: the baseline route (only with BENCH_ENDPOINTS) and
the database time recorded per connection checkout."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from sharestack.config import Settings
from sharestack.db.timing import instrument
from sharestack.health.baseline import _body
from sharestack.main import create_app


@pytest.mark.parametrize("size", [16, 17, 2494, 65_536])
def test_baseline_body_is_json_of_the_asked_size(size: int) -> None:
    body = _body(size)
    assert len(body) == size
    assert set(json.loads(body)) == {"padding"}


@pytest.mark.parametrize(("enabled", "status"), [(True, 200), (False, 404)])
async def test_baseline_route_exists_only_when_enabled(
    tmp_path: Path, enabled: bool, status: int
) -> None:
    app = create_app(Settings(data_dir=tmp_path, bench_endpoints=enabled))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/api/v1/bench/baseline/1000")
    assert response.status_code == status
    if enabled:
        assert len(response.content) == 1000
        assert response.headers["content-type"] == "application/json"


async def test_db_time_is_observed_once_per_checkout(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 't.db'}")
    seen: list[tuple[str, float, float, int]] = []
    instrument(engine, "primary", lambda *args: seen.append(args))
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
            await conn.execute(sa.text("SELECT 2"))
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 3"))
    finally:
        await engine.dispose()
    assert [(name, statements) for name, _w, _q, statements in seen] == [
        ("primary", 2),
        ("primary", 1),
    ]
    assert all(wait >= 0 and query > 0 for _n, wait, query, _s in seen)
