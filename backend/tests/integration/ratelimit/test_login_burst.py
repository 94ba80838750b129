"""The login limit under a concurrent burst, through the API."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from sharestack.config import Settings
from sharestack.main import create_app
from tests.support import servers

pytestmark = pytest.mark.integration


@pytest.fixture
async def strict_app(migrated: Settings) -> AsyncIterator[FastAPI]:
    prefix = f"{migrated.redis_key_prefix}burst{secrets.token_hex(3)}:"
    settings = migrated.model_copy(
        # A bulkhead that holds the whole allowed burst: this test is about the limiter (the
        # shedding past the bulkhead is tests/integration/test_login_bulkhead.py's).
        update={
            "rate_limit_auth": "10/minute",
            "redis_key_prefix": prefix,
            "password_hash_queue": 20,
            "password_hash_max_wait": 30.0,
        }
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application
    servers.delete_redis_prefix(prefix)


async def test_200_simultaneous_logins_against_a_limit_of_10(strict_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=strict_app, client=("198.51.100.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    "/api/v1/auth/login",
                    json={"email": f"nobody{i}@example.com", "password": "wrong password"},
                )
                for i in range(200)
            )
        )
        through = [r for r in responses if r.status_code != 429]
        limited = [r for r in responses if r.status_code == 429]
        print(f"\nburst: {len(through)} of 200 login attempts got through a limit of 10")
        assert len(through) <= 10
        assert all(r.status_code == 401 for r in through)  # they reached the password check
        first = limited[0]
        assert first.json()["error"]["code"] == "rate_limited"
        assert set(first.json()) == {"error"}
        assert 1 <= int(first.headers["retry-after"]) <= 6

        # Another address is not affected; other routes use the general limit.
        other = httpx.ASGITransport(app=strict_app, client=("198.51.100.8", 40000))
        async with httpx.AsyncClient(transport=other, base_url="http://testserver") as second:
            r = await second.post(
                "/api/v1/auth/login", json={"email": "x@example.com", "password": "wrong password"}
            )
            assert r.status_code == 401
        assert (await client.get("/api/v1/tags/none/contents")).status_code == 404


@pytest.fixture
async def per_user_app(migrated: Settings) -> AsyncIterator[FastAPI]:
    prefix = f"{migrated.redis_key_prefix}peruser{secrets.token_hex(3)}:"
    settings = migrated.model_copy(
        update={"rate_limit_authenticated": "3/minute", "redis_key_prefix": prefix}
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application
    servers.delete_redis_prefix(prefix)


async def test_signed_in_callers_are_limited_per_user_not_per_address(
    per_user_app: FastAPI, client: httpx.AsyncClient
) -> None:
    from tests.integration.helpers import signup

    transport = httpx.ASGITransport(app=per_user_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        alice, bob = await signup(http, "alice"), await signup(http, "bob")
        statuses = [
            (await http.get("/api/v1/me", headers=alice.headers)).status_code for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        # Same address, another user, and anonymous callers: their own budgets.
        assert (await http.get("/api/v1/me", headers=bob.headers)).status_code == 200
        assert (await http.get("/api/v1/tags/none/contents")).status_code == 404
