"""Warming the cache (``python -m sharestack warm-cache``): published items are cached by slug in
a few statements and round trips, a warmed read costs no statement, and a write that commits
while a warm-up is under way is never hidden behind the warmed copy."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from sharestack.cache import keys
from sharestack.content.cached import PAYLOAD_VERSION, _fill_item, warm_items
from sharestack.content.repository import get_tagged
from sharestack.db.routing import PRIMARY
from sharestack.dependencies import app_state
from tests.integration.helpers import draft, published, signup
from tests.support.io_counts import counting

pytestmark = pytest.mark.integration


async def test_warmed_items_are_read_without_the_database(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    author = await signup(client, "author")
    items = [await published(client, author, title=f"预热 {i}") for i in range(7)]
    hidden = await draft(client, author, title="草稿 draft")
    state = app_state(app)
    with counting() as counts:
        stored = await warm_items(state.cache, state.db.routing, batch=3)
    assert stored == 7
    # Per batch of 3: the slugs, the items with their tags; one empty query ends it.
    assert len(counts.statements) == 2 * 3 + 1, counts.describe()
    for item in items:
        with counting() as read:
            r = await client.get(f"/api/v1/contents/slug/{item['slug']}")
        assert r.status_code == 200
        assert r.json()["title"] == item["title"]
        assert read.statements == [], read.describe()
    # A draft is not published: nothing about it was cached, and it stays invisible.
    assert (await client.get(f"/api/v1/contents/slug/{hidden['slug']}")).status_code == 404


async def test_a_write_during_a_warm_up_wins(app: FastAPI, client: httpx.AsyncClient) -> None:
    """The warm-up reads each generation before it reads the rows, as a single fill does: a
    write committed in between gives the scope a new generation, and the old rendering stored
    under the old one is never served."""
    author = await signup(client, "author")
    item = await published(client, author, title="旧 old")
    state = app_state(app)
    key = keys.content_by_slug(state.cache.prefix, item["slug"], PAYLOAD_VERSION)

    async def load_then_write() -> list[bytes | None]:
        async with state.db.routing.reading(PRIMARY) as session:
            old = await _fill_item(session, await get_tagged(session, item["id"]))
        r = await client.patch(
            f"/api/v1/contents/{item['id']}", json={"title": "新 new"}, headers=author.headers
        )
        assert r.status_code == 200, r.text
        return [old]

    assert await state.cache.fill_many([key], load_then_write) == 1
    r = await client.get(f"/api/v1/contents/slug/{item['slug']}")
    assert r.json()["title"] == "新 new"
