"""The GCRA limiter against the real Redis (DB 13 of the shared instance, per-test prefix)."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from redis.asyncio import Redis

from sharestack.ratelimit.limiter import Limit, RateLimiter

pytestmark = pytest.mark.integration


async def test_a_concurrent_burst_lets_exactly_the_limit_through() -> None:
    clients = [Redis.from_url("redis://127.0.0.1:6379/13", max_connections=100) for _ in range(4)]
    prefix = f"ss_redis_test:{secrets.token_hex(4)}:"
    limiters = [RateLimiter(c, prefix) for c in clients]
    limit = Limit.parse("10/minute")
    try:
        decisions = await asyncio.gather(
            *(limiters[i % 4].hit("login", "203.0.113.9", limit) for i in range(200))
        )
    finally:
        for c in clients:
            await c.aclose()
    allowed = sum(d.allowed for d in decisions)
    print(f"\nburst of 200 against 10/minute: {allowed} allowed")
    assert allowed == 10
    rejected = [d for d in decisions if not d.allowed]
    # The next token arrives period/limit = 6 s after the burst drained the bucket.
    assert all(1 <= d.retry_after_seconds <= 6 for d in rejected)


async def test_limits_are_per_identity_and_refill() -> None:
    client = Redis.from_url("redis://127.0.0.1:6379/13")
    limiter = RateLimiter(client, f"ss_redis_test:{secrets.token_hex(4)}:")
    limit = Limit(2, 1)  # 2 per second: one every 500 ms after the burst
    try:
        assert [(await limiter.hit("api", "a", limit)).allowed for _ in range(3)] == [
            True,
            True,
            False,
        ]
        assert (await limiter.hit("api", "b", limit)).allowed
        await asyncio.sleep(0.55)
        assert (await limiter.hit("api", "a", limit)).allowed
    finally:
        await client.aclose()


async def test_leases_never_let_more_than_the_limit_through_and_save_round_trips() -> None:
    """Four processes' limiters, leasing, under a burst and then a sustained stream: never more
    than the limit allowed, and far fewer scripts than requests once an identity is busy."""
    clients = [Redis.from_url("redis://127.0.0.1:6379/13", max_connections=100) for _ in range(4)]
    prefix = f"ss_redis_test:{secrets.token_hex(4)}:"
    limiters = [RateLimiter(c, prefix) for c in clients]
    calls = 0
    for limiter in limiters:
        take = limiter._take

        async def counted(
            key: str, limit: Limit, want: int, take: object = take
        ) -> tuple[int, int]:
            nonlocal calls
            calls += 1
            return await take(key, limit, want)  # type: ignore[operator]

        limiter._take = counted  # type: ignore[method-assign]
    try:
        burst = Limit.parse("10/minute")
        decisions = await asyncio.gather(
            *(limiters[i % 4].hit_leased("ip", "203.0.113.9", burst) for i in range(200))
        )
        assert sum(d.allowed for d in decisions) == 10
        # A busy identity with room to spare: 2,000 sequential requests, one process.
        roomy = Limit.parse("1000000/minute")
        calls = 0
        for _ in range(2000):
            assert (await limiters[0].hit_leased("ip", "198.51.100.1", roomy)).allowed
        print(f"\n2000 leased requests: {calls} limiter scripts")
        assert calls < 100
        # A slow client (each lease expires unused) leases one cell at a time: no waste.
        limiters[1].LEASE_SECONDS = 0.0
        slow = Limit(3, 60)
        assert [(await limiters[1].hit_leased("ip", "s", slow)).allowed for _ in range(4)] == [
            True,
            True,
            True,
            False,
        ]
    finally:
        for c in clients:
            await c.aclose()


async def test_concurrent_requests_share_refills_and_remember_refusals() -> None:
    """200 simultaneous requests of one identity in one process: one script call brings their
    cells, at most a few more follow; once Redis refuses, the rest are refused in-process until
    the time it named (a flood of refused requests costs Redis nothing more), exactly as many
    allowed as the limit."""
    client = Redis.from_url("redis://127.0.0.1:6379/13", max_connections=100)
    limiter = RateLimiter(client, f"ss_redis_test:{secrets.token_hex(4)}:")
    calls = 0
    take = limiter._take

    async def counted(key: str, limit: Limit, want: int) -> tuple[int, int]:
        nonlocal calls
        calls += 1
        return await take(key, limit, want)

    limiter._take = counted  # type: ignore[method-assign]
    try:
        limit = Limit.parse("50/minute")
        decisions = await asyncio.gather(
            *(limiter.hit_leased("ip", "192.0.2.8", limit) for _ in range(200))
        )
        assert sum(d.allowed for d in decisions) == 50
        assert all(d.retry_after_seconds >= 1 for d in decisions if not d.allowed)
        # Leases of 1, 2, 4, 6, 6, ... (an eighth of the limit) and one refusal: not 200 calls.
        assert calls <= 15, calls
        calls = 0
        refused = [await limiter.hit_leased("ip", "192.0.2.8", limit) for _ in range(100)]
        assert not any(d.allowed for d in refused)
        assert calls == 0
        # spend_local never asks Redis and never spends what is not leased.
        assert not limiter.spend_local("ip", "192.0.2.8")
    finally:
        await client.aclose()


async def test_a_busy_identity_is_topped_up_before_its_lease_runs_out() -> None:
    """A steady stream spends from leases topped up in the background: ``spend_local`` (the
    fast lane's check) keeps finding a cell, and the scripts stay far fewer than requests."""
    client = Redis.from_url("redis://127.0.0.1:6379/13")
    limiter = RateLimiter(client, f"ss_redis_test:{secrets.token_hex(4)}:")
    try:
        limit = Limit.parse("1000000/minute")
        for _ in range(20):  # grow the lease past PREFETCH_FROM
            assert (await limiter.hit_leased("ip", "192.0.2.9", limit)).allowed
        local = 0
        for _ in range(3000):
            if limiter.spend_local("ip", "192.0.2.9"):
                local += 1
            else:
                assert (await limiter.hit_leased("ip", "192.0.2.9", limit)).allowed
            await asyncio.sleep(0)  # let a top-up's round trip progress, as a busy loop would
        assert local >= 2900, local
    finally:
        await client.aclose()
