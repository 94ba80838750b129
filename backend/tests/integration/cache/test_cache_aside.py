"""Cache-aside against the real Redis: invalidation race, stampede guard, negative caching and
fall-through when Redis is unreachable. Uses DB 12 of the shared Redis with a per-test prefix."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator

import orjson
import pytest
from redis.asyncio import Redis

from sharestack.cache import keys
from sharestack.cache.aside import CacheAside
from sharestack.metrics.registry import CACHE_HITS, CACHE_LOADS

pytestmark = pytest.mark.integration

V = "test"  # the payload version of these keys
REDIS_URL = os.environ.get("TEST_REDIS_CACHE_URL", "redis://127.0.0.1:6379/12")


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(redis: Redis) -> AsyncIterator[str]:
    value = f"ss_redis_test:{secrets.token_hex(4)}:"
    yield value
    keys_left = [k async for k in redis.scan_iter(match=f"{value}*", count=1000)]
    if keys_left:
        await redis.delete(*keys_left)


async def test_hit_after_fill_and_negative_caching(redis: Redis, prefix: str) -> None:
    cache = CacheAside(redis)
    calls = 0

    async def load(_position: str | None = None) -> bytes | None:
        nonlocal calls
        calls += 1
        return orjson.dumps({"id": 1, "title": "hello"})

    key = keys.content_by_id(prefix, 1, V)
    assert await cache.get_or_load(key, load) == b'{"id":1,"title":"hello"}'
    assert await cache.get_or_load(key, load) == b'{"id":1,"title":"hello"}'
    assert calls == 1

    async def missing(_position: str | None = None) -> bytes | None:
        nonlocal calls
        calls += 1
        return None

    absent = keys.content_by_slug(prefix, "nope", V)
    assert await cache.get_or_load(absent, missing) is None
    assert await cache.get_or_load(absent, missing) is None
    assert calls == 2  # the miss was cached
    ttl = await redis.ttl(absent.value)
    assert 0 < ttl <= 33


async def test_invalidation_beats_a_slow_reader_that_loaded_the_old_row(
    redis: Redis, prefix: str
) -> None:
    """The classic race: a reader loads v1 from the database, the writer commits v2 and
    invalidates, then the reader stores v1. No later reader may get v1."""
    cache = CacheAside(redis)
    db = {"version": 1}
    loaded_old = asyncio.Event()
    release_reader = asyncio.Event()
    key = keys.creator_feed(prefix, 7, "page=1", V)

    async def slow_load(_position: str | None = None) -> bytes | None:
        value = orjson.dumps(db)
        loaded_old.set()
        await release_reader.wait()
        return value

    reader = asyncio.create_task(cache.get_or_load(key, slow_load))
    await loaded_old.wait()
    db["version"] = 2  # the write commits...
    await cache.invalidate(keys.creator_feed(prefix, 7, "any-page", V))  # ...and invalidates
    release_reader.set()
    assert orjson.loads(await reader or b"null") == {"version": 1}  # it read before the commit

    async def load(_position: str | None = None) -> bytes | None:
        return orjson.dumps(db)

    for _ in range(3):
        assert orjson.loads(await cache.get_or_load(key, load) or b"null") == {"version": 2}


async def test_one_invalidation_drops_every_page_of_a_feed(redis: Redis, prefix: str) -> None:
    cache = CacheAside(redis)
    version = 1

    async def load(_position: str | None = None) -> bytes | None:
        return str(version).encode()

    pages = [keys.tag_feed(prefix, "jazz", f"page={n}", V) for n in range(1, 6)]
    for page in pages:
        assert await cache.get_or_load(page, load) == b"1"
    version = 2
    await cache.invalidate(pages[0])
    for page in pages:
        assert await cache.get_or_load(page, load) == b"2"


async def _stampede(redis_url: str, prefix: str, guard: bool, processes: int, readers: int) -> int:
    """``processes`` CacheAside instances (each with its own connection pool, as separate API
    processes would have) × ``readers`` concurrent requests on one expired hot key. Returns the
    number of database loads."""
    loads = 0
    overlapping = asyncio.Event()

    async def load(_position: str | None = None) -> bytes | None:
        nonlocal loads
        loads += 1
        # A slow query under load: hold the first load until many readers have piled up behind
        # it (or a second has passed), so that the readers really overlap on a busy machine.
        if loads >= readers:
            overlapping.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(overlapping.wait(), 1.0)
        return b'{"hot":true}'

    key = keys.content_by_slug(prefix, "hot", V)
    clients = [Redis.from_url(redis_url, max_connections=readers + 10) for _ in range(processes)]
    caches = [CacheAside(c, stampede_guard=guard) for c in clients]
    try:
        # Open every connection first, as a busy API process would have them open already;
        # otherwise connection set-up, not the guard, decides how many readers overlap.
        await asyncio.gather(*(c.ping() for c in clients for _ in range(readers)))
        # Fill the key, then let it expire: the burst hits a key that was hot a moment ago. A
        # value expires minutes after its fill, long after the fill's rebuild lock lapsed.
        await caches[0].get_or_load(key, load)
        locks = [k async for k in clients[0].scan_iter(match=f"{key.lock}:*")]
        await clients[0].delete(key.value, *locks)
        loads = 0
        overlapping.clear()
        results = await asyncio.gather(
            *(caches[i % processes].get_or_load(key, load) for i in range(processes * readers))
        )
    finally:
        for c in clients:
            await c.aclose()
    assert all(r == b'{"hot":true}' for r in results)
    return loads


async def test_stampede_guard_counts_database_loads(prefix: str) -> None:
    without = await _stampede(REDIS_URL, prefix + "off:", guard=False, processes=4, readers=50)
    with_guard = await _stampede(REDIS_URL, prefix + "on:", guard=True, processes=4, readers=50)
    print(
        f"\nstampede, 200 concurrent readers on an expired key: {without} DB loads without "
        f"the guard, {with_guard} with it"
    )
    assert with_guard == 1
    assert without > 50


async def test_cache_redis_down_falls_through_to_the_database() -> None:
    # A port nobody listens on: every Redis call fails fast with ConnectionError.
    from sharestack.cache.clients import make_client

    dead = make_client("redis://127.0.0.1:1/0", retries=0, socket_timeout=0.2)
    cache = CacheAside(dead)
    calls = 0

    async def load(_position: str | None = None) -> bytes | None:
        nonlocal calls
        calls += 1
        return b"from-db"

    key = keys.profile("ss_redis_test:", 1, V)
    for _ in range(5):
        assert await cache.get_or_load(key, load) == b"from-db"
    assert calls == 5
    await cache.invalidate(key)  # must not raise either
    await cache.aclose()
    await dead.aclose()


async def test_counters_are_labelled_per_family(redis: Redis, prefix: str) -> None:
    before = CACHE_HITS.labels("profile")._value.get()
    loads_before = CACHE_LOADS.labels("profile")._value.get()
    cache = CacheAside(redis)

    async def load(_position: str | None = None) -> bytes | None:
        return b"{}"

    for _ in range(3):
        await cache.get_or_load(keys.profile(prefix, 5, V), load)
    assert CACHE_HITS.labels("profile")._value.get() - before == 2
    assert CACHE_LOADS.labels("profile")._value.get() - loads_before == 1
