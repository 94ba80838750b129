"""Coalesced jobs (``sharestack.jobs.coalesce``) on the real Redis: a burst of publications
queues one feed warm-up, which takes every feed they noted; a rolled-back transaction notes
nothing; concurrent publications of one item all succeed, each publishing it once."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sharestack.content import cache_scopes
from sharestack.db.after_commit import write_transaction
from sharestack.dependencies import app_state
from sharestack.jobs import coalesce
from tests.integration.helpers import draft, signup

pytestmark = pytest.mark.integration


class Recorder:
    """Stands in for the job queue: records what would be queued (the queue itself is SAQ's,
    tested in tests/system/test_worker.py)."""

    def __init__(self) -> None:
        self.queued: list[tuple[str, str, dict[str, Any], float]] = []

    async def enqueue(
        self, function: str, key: str, kwargs: dict[str, Any], *, delay: float = 0.0
    ) -> bool:
        self.queued.append((function, key, kwargs, delay))
        return True

    async def counts(self) -> tuple[int, int]:
        return len(self.queued), 0

    async def close(self) -> None:
        pass


@pytest.fixture
async def recorder(app: FastAPI) -> Any:
    state = app_state(app)
    coalescer = state.jobs.coalescer
    original = coalescer.queue
    coalescer.queue = recorder = Recorder()
    # Whatever an earlier test left pending belongs to its own job.
    await coalesce.take(state.redis, cache_scopes.WARM_FEEDS)
    try:
        yield recorder
    finally:
        coalescer.queue = original
        await coalesce.take(state.redis, cache_scopes.WARM_FEEDS)


async def test_a_burst_of_publications_queues_one_warm_up(
    client: httpx.AsyncClient, app: FastAPI, recorder: Recorder
) -> None:
    authors = [await signup(client, "author") for _ in range(3)]
    items = [
        (who, await draft(client, who, tags=["科技", f"burst-{i}"]))
        for i, who in enumerate(authors * 4)
    ]

    async def publish(who: Any, item: dict[str, Any]) -> int:
        r = await client.post(f"/api/v1/contents/{item['id']}/publish", headers=who.headers)
        return r.status_code

    assert await asyncio.gather(*(publish(w, i) for w, i in items)) == [200] * len(items)
    assert [(f, kw) for f, _key, kw, _delay in recorder.queued] == [("warm_content_feeds", {})]
    assert recorder.queued[0][3] == coalesce.WINDOW
    members = await coalesce.take(app_state(app).redis, cache_scopes.WARM_FEEDS)
    creators, tags = cache_scopes.feeds(members)
    assert sorted(creators) == sorted(a.user_id for a in authors)
    assert sorted(tags) == sorted(["科技"] + [f"burst-{i}" for i in range(12)])
    # Taken: the next publication queues a new job.
    who, item = authors[0], await draft(client, authors[0])
    assert await publish(who, item) == 200
    assert len(recorder.queued) == 2


async def test_a_rolled_back_transaction_asks_for_nothing(app: FastAPI, recorder: Recorder) -> None:
    class Boom(Exception):
        pass

    async def rolled_back() -> None:
        async with write_transaction(app_state(app).db) as session:
            cache_scopes.warm_feeds(session, 1, ["rolled-back"])
            raise Boom

    with pytest.raises(Boom):
        await rolled_back()
    assert recorder.queued == []
    assert await coalesce.take(app_state(app).redis, cache_scopes.WARM_FEEDS) == []


async def test_twenty_concurrent_publications_of_one_item(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    """The locked read (item and tags in one statement) serialises them: no error, no deadlock,
    the item published once, its version unchanged by the no-op repeats."""
    who = await signup(client, "author")
    item = await draft(client, who, tags=["科技", "并发"])
    path = f"/api/v1/contents/{item['id']}"

    async def publish() -> httpx.Response:
        return await client.post(f"{path}/publish", headers=who.headers)

    answers = await asyncio.gather(*(publish() for _ in range(20)))
    assert [r.status_code for r in answers] == [200] * 20
    assert {r.json()["status"] for r in answers} == {"published"}
    assert {r.json()["tags"] == ["并发", "科技"] for r in answers} == {True}
    after = (await client.get(path, headers=who.headers)).json()
    assert after["status"] == "published"
    assert after["version"] == item["version"]
    assert len(recorder.queued) == 1


async def test_twenty_concurrent_changes_of_one_item_lose_none(client: httpx.AsyncClient) -> None:
    """Updates through the one-statement locked read: each gets its own version, none lost."""
    who = await signup(client, "author")
    item = await draft(client, who, tags=["科技"])
    path = f"/api/v1/contents/{item['id']}"

    async def change(i: int) -> httpx.Response:
        body = {"title": f"改 {i}", "tags": ["科技", f"t{i % 3}"]}
        return await client.patch(path, json=body, headers=who.headers)

    answers = await asyncio.gather(*(change(i) for i in range(20)))
    assert [r.status_code for r in answers] == [200] * 20
    versions = sorted(r.json()["version"] for r in answers)
    assert versions == list(range(item["version"] + 1, item["version"] + 21))
    r = await client.get(f"{path}/versions?limit=50", headers=who.headers)
    assert len(r.json()["items"]) == 21
