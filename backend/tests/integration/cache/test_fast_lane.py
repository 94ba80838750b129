"""The fast lane (sharestack.content.fastlane): an anonymous read the L1 holds is answered before
routing, with the bytes and headers the routed path gives; everything else is routed; the rate
limit still counts every request; a paywalled body stays withheld."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from sharestack.config import Settings
from sharestack.db.consistency import COOKIE as RYW_COOKIE
from sharestack.main import create_app
from sharestack.metrics.registry import FAST_LANE_ANSWERS
from tests.integration.helpers import published, signup
from tests.support import servers
from tests.support.io_counts import counting

pytestmark = pytest.mark.integration


async def _app(settings: Settings, **update: object) -> AsyncIterator[FastAPI]:
    prefix = f"{settings.redis_key_prefix}lane{secrets.token_hex(3)}:"
    application = create_app(
        settings.model_copy(
            update={"cache_l1_ttl_seconds": 30, "redis_key_prefix": prefix, **update}
        )
    )
    async with application.router.lifespan_context(application):
        yield application
    servers.delete_redis_prefix(prefix)


@pytest.fixture
async def lane_app(migrated: Settings, clean_tables: None) -> AsyncIterator[FastAPI]:
    async for application in _app(migrated):
        yield application


def _client(app: FastAPI, ip: str = "203.0.113.5") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://t")


def _answered() -> float:
    return FAST_LANE_ANSWERS._value.get()


def _comparable(response: httpx.Response) -> tuple[int, bytes, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k not in ("x-request-id", "date")}
    return response.status_code, response.content, headers


async def _fast_read(c: httpx.AsyncClient, url: str) -> httpx.Response:
    """Read until the fast lane answers: a caller's first requests lease their rate-limit cells
    one or two at a time (``RateLimiter.hit_leased``), and only a cell already leased is spent
    without routing."""
    for _ in range(4):
        before = _answered()
        with counting() as counts:
            response = await c.get(url)
        if _answered() == before + 1:
            assert counts.statements == [], counts
            assert counts.redis == [], counts
            return response
    raise AssertionError(f"the fast lane never answered {url}")


async def test_the_fast_answer_is_the_routed_answer(lane_app: FastAPI) -> None:
    async with _client(lane_app) as c:
        author = await signup(c, "author")
        public = await published(c, author, title="公开 public")
        paid = await published(c, author, title="付费 paid", visibility="subscribers")
        for url in (
            f"/api/v1/contents/slug/{public['slug']}",
            f"/api/v1/contents/{public['id']}",
            f"/api/v1/contents/slug/{paid['slug']}",
            f"/api/v1/contents/{paid['id']}",
        ):
            before = _answered()
            routed = await c.get(url)  # the first read fills Redis and the L1
            assert _answered() == before, url
            fast = await _fast_read(c, url)
            assert _comparable(fast) == _comparable(routed), url
            assert fast.headers["x-content-type-options"] == "nosniff"
            assert fast.headers["x-request-id"]
        # The paywall holds on the fast lane: anonymous callers get the withheld rendering.
        body = (await c.get(f"/api/v1/contents/slug/{paid['slug']}")).json()
        assert body["body"] is None
        assert body["body_withheld"] is True
        # Any spelling of the slug is the same key (canonical form), served fast.
        upper = await _fast_read(c, f"/api/v1/contents/slug/{public['slug'].upper()}")
        assert upper.status_code == 200
        assert upper.json()["id"] == public["id"]


async def test_callers_with_credentials_or_a_recent_write_are_routed(lane_app: FastAPI) -> None:
    async with _client(lane_app) as c:
        author = await signup(c, "author")
        paid = await published(c, author, title="付费 paid", visibility="subscribers")
        url = f"/api/v1/contents/slug/{paid['slug']}"
        await c.get(url)
        await _fast_read(c, url)  # the L1 holds it and this address has leased cells
        before = _answered()
        # The author, by bearer token and by session cookie: routed, and sees the body.
        own = await c.get(url, headers=author.headers)
        assert own.json()["body"] is not None
        cookie = {"cookie": f"ss_session={author.token}"}
        assert (await c.get(url, headers=cookie)).json()["body"] is not None
        # A read-your-writes cookie (the caller just wrote): routed, whatever else it carries.
        await c.get(url, headers={"cookie": f"{RYW_COOKIE}=x; theme=dark"})
        # A forged or unknown token is still a credential: routed (and treated as anonymous).
        forged = await c.get(url, headers={"authorization": "Bearer forged"})
        assert forged.status_code == 200
        assert forged.json()["body"] is None
        assert _answered() == before
        # Unrelated cookies do not stop the fast lane.
        for _ in range(4):
            await c.get(url, headers={"cookie": "theme=dark"})
        assert _answered() > before


async def test_what_the_route_would_refuse_is_routed(lane_app: FastAPI) -> None:
    async with _client(lane_app) as c:
        before = _answered()
        assert (await c.get("/api/v1/contents/slug/nope")).status_code == 404
        assert (await c.get("/api/v1/contents/slug/nope")).status_code == 404  # cached miss
        assert (await c.get("/api/v1/contents/slug/" + "x" * 121)).status_code == 422
        assert (await c.get("/api/v1/contents/0")).status_code == 422
        assert (await c.get("/api/v1/contents/99999999999999999999")).status_code == 422
        assert (await c.get("/api/v1/contents/%E4%B8%80")).status_code == 422
        assert (await c.post("/api/v1/contents/slug/nope")).status_code == 405
        assert _answered() == before


async def test_the_rate_limit_counts_fast_answers(migrated: Settings, clean_tables: None) -> None:
    async for application in _app(migrated, rate_limit_anonymous="40/minute"):
        async with _client(application) as writer, _client(application, "198.51.100.77") as c:
            item = await published(writer, await signup(writer, "author"))
            url = f"/api/v1/contents/slug/{item['slug']}"
            before = _answered()
            sequential = [(await c.get(url)).status_code for _ in range(10)]
            burst = await asyncio.gather(*(c.get(url) for _ in range(60)))
            codes = sequential + [r.status_code for r in burst]
            assert codes.count(200) == 40, codes
            assert _answered() > before  # leased cells were spent on the fast lane too
            assert set(codes) == {200, 429}
            refused = next(r for r in burst if r.status_code == 429)
            assert int(refused.headers["retry-after"]) >= 1
