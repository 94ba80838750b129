"""The cache through the API: invalidation on every kind of write, the thin hit path, and reads
that fall through to the database when the cache Redis is down."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from sharestack.config import Settings
from sharestack.dependencies import app_state
from sharestack.main import create_app
from tests.integration.helpers import published, signup

pytestmark = pytest.mark.integration


async def test_no_reader_gets_the_old_version_once_the_write_returned(
    client: httpx.AsyncClient,
) -> None:
    """Readers hammer the item, its author's feed and its tag's feed while the author saves 15
    new titles. Every read that *started* after a save's response arrived must show that save
    or a later one."""
    author = await signup(client, "writer")
    item = await published(client, author, title="v0", tags=["cachetest"])
    item_id = item["id"]
    saved_at: list[tuple[float, int]] = [(0.0, 0)]  # (monotonic time the response arrived, n)
    stale: list[str] = []
    reads = 0
    done = asyncio.Event()

    def title_number(title: str) -> int:
        return int(title.removeprefix("v"))

    async def reader(url: str, extract: Any) -> None:
        nonlocal reads
        while not done.is_set():
            started = time.monotonic()
            must_see = max(n for t, n in saved_at if t <= started)
            r = await client.get(url)
            assert r.status_code == 200, r.text
            seen = title_number(extract(r.json()))
            reads += 1
            if seen < must_see:
                stale.append(f"{url}: saw v{seen} after v{must_see} had been returned")

    def first_title(page: dict[str, Any]) -> str:
        return str(next(i["title"] for i in page["items"] if i["id"] == item_id))

    readers = [
        asyncio.create_task(reader(f"/api/v1/contents/{item_id}", lambda b: b["title"])),
        asyncio.create_task(reader(f"/api/v1/contents/slug/{item['slug']}", lambda b: b["title"])),
        asyncio.create_task(reader(f"/api/v1/creators/{author.user_id}/contents", first_title)),
        asyncio.create_task(reader("/api/v1/tags/cachetest/contents", first_title)),
    ]
    for n in range(1, 16):
        r = await client.patch(
            f"/api/v1/contents/{item_id}", json={"title": f"v{n}"}, headers=author.headers
        )
        assert r.status_code == 200
        saved_at.append((time.monotonic(), n))
        await asyncio.sleep(0.02)
    done.set()
    await asyncio.gather(*readers)
    assert reads > 60
    assert stale == []


async def test_unpublish_delete_and_retag_drop_every_entry(client: httpx.AsyncClient) -> None:
    author = await signup(client, "writer")
    item = await published(client, author, title="keep", tags=["alpha"])
    url, feed = f"/api/v1/contents/{item['id']}", f"/api/v1/creators/{author.user_id}/contents"

    async def ids(path: str) -> list[int]:
        r = await client.get(path)
        return [i["id"] for i in r.json()["items"]] if r.status_code == 200 else []

    assert (await client.get(url)).status_code == 200
    assert item["id"] in await ids(feed)
    assert item["id"] in await ids("/api/v1/tags/alpha/contents")

    # Moving the item from tag alpha to tag beta drops it from alpha's cached feed.
    r = await client.patch(url, json={"tags": ["beta"]}, headers=author.headers)
    assert r.status_code == 200
    assert item["id"] not in await ids("/api/v1/tags/alpha/contents")
    assert item["id"] in await ids("/api/v1/tags/beta/contents")

    r = await client.post(f"{url}/unpublish", headers=author.headers)
    assert r.status_code == 200
    assert (await client.get(url)).status_code == 404
    assert item["id"] not in await ids(feed)
    assert item["id"] not in await ids("/api/v1/tags/beta/contents")

    await client.post(f"{url}/publish", headers=author.headers)
    assert (await client.get(url)).status_code == 200
    assert (await client.delete(url, headers=author.headers)).status_code == 204
    assert (await client.get(url)).status_code == 404
    assert (await client.get(f"/api/v1/contents/slug/{item['slug']}")).status_code == 404
    assert item["id"] not in await ids(feed)


async def test_a_cached_miss_is_dropped_when_the_item_appears(client: httpx.AsyncClient) -> None:
    author = await signup(client, "writer")
    assert (await client.get("/api/v1/tags/brand-new/contents")).status_code == 404  # cached
    await published(client, author, tags=["brand-new"])
    r = await client.get("/api/v1/tags/brand-new/contents")
    assert r.status_code == 200
    assert len(r.json()["items"]) == 1


async def test_profile_update_is_visible_at_once(client: httpx.AsyncClient) -> None:
    user = await signup(client, "profiled")
    assert (await client.get(f"/api/v1/users/{user.user_id}")).json()["display_name"] == "profiled"
    r = await client.patch("/api/v1/me", json={"display_name": "renamed"}, headers=user.headers)
    assert r.status_code == 200
    assert (await client.get(f"/api/v1/users/{user.user_id}")).json()["display_name"] == "renamed"


async def test_a_cache_hit_opens_no_database_connection(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    author = await signup(client, "writer")
    item = await published(client, author)
    url = f"/api/v1/contents/{item['id']}"
    assert (await client.get(url)).status_code == 200  # fills the cache (or the warm job did)

    checkouts = 0

    def count(*_: Any) -> None:
        nonlocal checkouts
        # The outbox relay polls the database from its own background task; only requests count.
        task = asyncio.current_task()
        if task is None or task.get_name() != "outbox-relay":
            checkouts += 1

    engines = [app_state(app).db.write_engine, *app_state(app).db.read_engines]
    for engine in engines:
        sa.event.listen(engine.sync_engine, "checkout", count)
    try:
        for _ in range(20):
            r = await client.get(url)
            assert r.status_code == 200
        feed = await client.get(f"/api/v1/creators/{author.user_id}/contents")
        assert feed.status_code == 200
        feed = await client.get(f"/api/v1/creators/{author.user_id}/contents")
    finally:
        for engine in engines:
            sa.event.remove(engine.sync_engine, "checkout", count)
    # The first feed read may fill; the 20 item reads and the second feed read are hits.
    assert checkouts <= 1


@pytest.fixture
async def app_with_dead_cache(migrated: Settings) -> AsyncIterator[FastAPI]:
    settings = migrated.model_copy(update={"redis_cache_url": "redis://127.0.0.1:1/1"})
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_reads_fall_through_when_the_cache_redis_is_down(
    client: httpx.AsyncClient, app_with_dead_cache: FastAPI
) -> None:
    author = await signup(client, "writer")
    item = await published(client, author, title="still readable")
    transport = httpx.ASGITransport(app=app_with_dead_cache)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as dead:
        for path in (
            f"/api/v1/contents/{item['id']}",
            f"/api/v1/contents/slug/{item['slug']}",
            f"/api/v1/creators/{author.user_id}/contents",
        ):
            r = await dead.get(path)
            assert r.status_code == 200, r.text
        r = await dead.patch(
            f"/api/v1/contents/{item['id']}", json={"title": "edited"}, headers=author.headers
        )
        assert r.status_code == 200
        assert (await dead.get(f"/api/v1/contents/{item['id']}")).json()["title"] == "edited"


@pytest.fixture
async def unguarded_app(migrated: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(migrated.model_copy(update={"cache_stampede_guard": False}))
    async with application.router.lifespan_context(application):
        yield application


async def _stampede_queries(application: FastAPI, item_id: int, readers: int) -> int:
    """SQL statements run while ``readers`` concurrent requests hit an item whose cache entry
    just expired."""
    cache = app_state(application).cache
    from sharestack.cache import keys
    from sharestack.content.cached import PAYLOAD_VERSION as V

    await cache.redis.delete(keys.content_by_id(cache.prefix, item_id, V).value)
    statements = 0

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # The outbox relay's polls (the publication enqueued a warm-up) are not the readers'.
        nonlocal statements
        if "job_outbox" not in statement:
            statements += 1

    engine = app_state(application).db.write_engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", count)
    transport = httpx.ASGITransport(app=application)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            responses = await asyncio.gather(
                *(c.get(f"/api/v1/contents/{item_id}") for _ in range(readers))
            )
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert all(r.status_code == 200 for r in responses)
    return statements


async def test_stampede_guard_through_the_api(
    client: httpx.AsyncClient,
    app: FastAPI,
    unguarded_app: FastAPI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sharestack.content import repository

    original_get = repository.get_tagged
    loading = 0
    overlapping = asyncio.Event()

    async def slow_get(session: Any, content_id: int) -> Any:
        # A hot item's query under load takes a while: hold it until 20 loads are waiting (or a
        # second has passed). Without this the first load can finish before the other requests
        # have reached the cache on a busy machine, and there is no stampede to stop.
        nonlocal loading
        loading += 1
        if loading >= 20:
            overlapping.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(overlapping.wait(), 1.0)
        return await original_get(session, content_id)

    monkeypatch.setattr(repository, "get_tagged", slow_get)
    author = await signup(client, "writer")
    item = await published(client, author)
    guarded = await _stampede_queries(app, item["id"], 100)
    loading = 0
    overlapping.clear()
    unguarded = await _stampede_queries(unguarded_app, item["id"], 100)
    print(
        f"\nstampede through the API, 100 concurrent readers of an expired item: "
        f"{unguarded} SQL statements without the guard, {guarded} with it"
    )
    assert guarded <= 5
    assert unguarded > 10 * guarded


@pytest.fixture
async def app_without_session_redis(migrated: Settings) -> AsyncIterator[FastAPI]:
    settings = migrated.model_copy(
        update={"redis_sessions_url": "redis://127.0.0.1:1/0", "redis_retry_budget_seconds": 0.3}
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_session_redis_down_answers_503_not_500(app_without_session_redis: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app_without_session_redis)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        r = await c.get("/api/v1/me", headers={"Authorization": "Bearer some-token"})
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "service_unavailable"
    assert r.headers["retry-after"] == "1"
