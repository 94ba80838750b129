"""The in-process L1 (sharestack.cache.local) through the API: a hot read costs no cache Redis
command, a write is seen at once in the writing process and by the writer, at most the L1's TTL
late in another process, and a withheld body stays withheld."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from sharestack.config import Settings
from sharestack.main import create_app
from tests.integration.helpers import published, signup
from tests.support.io_counts import counting

pytestmark = pytest.mark.integration

TTL = 0.5


@pytest.fixture
async def l1_apps(migrated: Settings, clean_tables: None) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    """Two API instances (as two processes would be) on one database and one cache Redis."""
    settings = migrated.model_copy(update={"cache_l1_ttl_seconds": TTL})
    first, second = create_app(settings), create_app(settings)
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        yield first, second


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_hot_reads_skip_redis_and_writes_are_seen(l1_apps: tuple[FastAPI, FastAPI]) -> None:
    one, two = l1_apps
    async with _client(one) as a, _client(two) as b:
        author = await signup(a, "author")
        item = await published(a, author, title="旧 old")
        url = f"/api/v1/contents/{item['id']}"
        assert (await a.get(url)).json()["title"] == "旧 old"
        assert (await b.get(url)).json()["title"] == "旧 old"
        with counting() as counts:
            assert (await a.get(url)).status_code == 200
        # At most the rate limiter's script (none when its lease has a cell left): no cache read.
        assert counts.redis in ([], ["EVALSHA"]), counts.redis

        r = await a.patch(url, json={"title": "新 new"}, headers=author.headers)
        assert r.status_code == 200
        # The writing process dropped its L1 entry before answering; the writer (signed in) is
        # never served from the L1, on any process.
        assert (await a.get(url)).json()["title"] == "新 new"
        assert (await b.get(url, headers=author.headers)).json()["title"] == "新 new"
        # Another process's anonymous readers: at most TTL seconds late.
        await asyncio.sleep(TTL + 0.1)
        assert (await b.get(url)).json()["title"] == "新 new"


async def test_a_withheld_body_stays_withheld_from_the_l1(l1_apps: tuple[FastAPI, FastAPI]) -> None:
    one, _ = l1_apps
    async with _client(one) as a:
        author, reader = await signup(a, "author"), await signup(a, "reader")
        item = await published(a, author, visibility="subscribers", body="付费 paid")
        url = f"/api/v1/contents/{item['id']}"
        for _ in range(2):  # the second round is served from the L1
            assert (await a.get(url)).json()["body"] is None
            assert (await a.get(url, headers=reader.headers)).json()["body"] is None
            assert (await a.get(url, headers=author.headers)).json()["body"] == "付费 paid"
