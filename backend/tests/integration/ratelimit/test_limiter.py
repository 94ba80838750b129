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
