from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from sharestack.dependencies import app_state
from sharestack.subscriptions.models import Subscription, SubscriptionPlan
from tests.integration.helpers import draft, published, signup

pytestmark = pytest.mark.integration

CHINESE = "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。🌸🐦 — ＡＢＣ，「引号」"


async def test_draft_publish_read_round_trip(client: httpx.AsyncClient) -> None:
    author = await signup(client, "author")
    item = await draft(
        client, author, title="静夜思 🌙", body=CHINESE, tags=["诗歌", "Tang Poetry"]
    )
    assert item["status"] == "draft"
    assert item["published_at"] is None
    assert item["slug"].startswith("p-")
    # A draft exists only for its author.
    assert (await client.get(f"/api/v1/contents/{item['id']}")).status_code == 404
    assert (await client.get(f"/api/v1/contents/slug/{item['slug']}")).status_code == 404

    r = await client.post(f"/api/v1/contents/{item['id']}/publish", headers=author.headers)
    assert r.status_code == 200
    assert r.json()["status"] == "published"

    r = await client.get(f"/api/v1/contents/slug/{item['slug']}")
    assert r.status_code == 200
    assert r.json()["body"] == CHINESE
    assert r.json()["title"] == "静夜思 🌙"
    assert sorted(r.json()["tags"]) == ["Tang Poetry", "诗歌"]
    assert r.headers["content-type"] == "application/json"
    assert CHINESE.encode() in r.content  # UTF-8 on the wire, not \u escapes


async def test_every_save_appends_a_version(client: httpx.AsyncClient) -> None:
    author = await signup(client)
    item = await draft(client, author, title="v1", body="one")
    for n, text in enumerate(["two", "three"], start=2):
        r = await client.patch(
            f"/api/v1/contents/{item['id']}", json={"body": text}, headers=author.headers
        )
        assert r.status_code == 200
        assert r.json()["version"] == n
        assert r.json()["excerpt"] == text
    r = await client.get(f"/api/v1/contents/{item['id']}/versions", headers=author.headers)
    assert [v["version"] for v in r.json()["items"]] == [3, 2, 1]
    assert all("body" not in v for v in r.json()["items"])  # bodies one at a time
    for n, text in [(3, "three"), (2, "two"), (1, "one")]:
        path = f"/api/v1/contents/{item['id']}/versions/{n}"
        assert (await client.get(path, headers=author.headers)).json()["body"] == text


async def test_only_the_author_edits(client: httpx.AsyncClient) -> None:
    author, other = await signup(client, "author"), await signup(client, "other")
    hidden = await draft(client, author)
    public = await published(client, author)
    for item, expected in ((hidden, 404), (public, 403)):
        for method, path, body in (
            ("PATCH", f"/api/v1/contents/{item['id']}", {"title": "hijack"}),
            ("POST", f"/api/v1/contents/{item['id']}/publish", None),
            ("POST", f"/api/v1/contents/{item['id']}/unpublish", None),
            ("DELETE", f"/api/v1/contents/{item['id']}", None),
            ("GET", f"/api/v1/contents/{item['id']}/versions", None),
        ):
            r = await client.request(method, path, json=body, headers=other.headers)
            assert r.status_code == expected, (method, path, r.text)
            assert "error" in r.json()
    r = await client.get(f"/api/v1/contents/{public['id']}")
    assert r.json()["title"] == public["title"]


async def test_subscribers_only_body_is_withheld(client: httpx.AsyncClient, app: FastAPI) -> None:
    author, reader, subscriber = [await signup(client, n) for n in ("a", "r", "s")]
    item = await published(client, author, visibility="subscribers", excerpt="预告 teaser")

    async with app_state(app).db.write_sessionmaker() as session:
        plan = SubscriptionPlan(
            creator_id=author.user_id,
            name="月度",
            price_amount=1500,
            currency="CNY",
            interval="month",
        )
        session.add(plan)
        await session.flush()
        now = datetime.now(UTC)
        session.add(
            Subscription(
                subscriber_id=subscriber.user_id,
                plan_id=plan.id,
                creator_id=author.user_id,
                status="active",
                current_period_start=now,
                current_period_end=now + timedelta(days=30),
            )
        )
        await session.commit()

    for who, withheld in ((None, True), (reader, True), (subscriber, False), (author, False)):
        headers = who.headers if who else {}
        r = await client.get(f"/api/v1/contents/{item['id']}", headers=headers)
        assert r.status_code == 200
        body = r.json()
        assert body["body_withheld"] is withheld
        assert (body["body"] is None) is withheld
        assert body["title"] == item["title"]
        assert body["excerpt"] == "预告 teaser"


async def test_unpublish_and_delete(client: httpx.AsyncClient) -> None:
    author = await signup(client)
    item = await published(client, author, tags=["删除"])
    r = await client.post(f"/api/v1/contents/{item['id']}/unpublish", headers=author.headers)
    assert r.json()["status"] == "draft"
    assert (await client.get(f"/api/v1/contents/{item['id']}")).status_code == 404
    assert (await client.get("/api/v1/tags/删除/contents")).json()["items"] == []
    r = await client.delete(f"/api/v1/contents/{item['id']}", headers=author.headers)
    assert r.status_code == 204
    r = await client.get(f"/api/v1/contents/{item['id']}", headers=author.headers)
    assert r.status_code == 404


async def _walk(client: httpx.AsyncClient, path: str, limit: int) -> list[int]:
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        r = await client.get(path, params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= limit
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


async def test_feeds_are_newest_first_with_keyset_pages(client: httpx.AsyncClient) -> None:
    author, other = await signup(client, "author"), await signup(client, "other")
    mine = [
        (await published(client, author, title=f"第{i}篇", tags=["编程"]))["id"] for i in range(7)
    ]
    await draft(client, author, tags=["编程"])  # drafts stay out of feeds
    theirs = (await published(client, other, tags=["编程"]))["id"]

    assert await _walk(client, f"/api/v1/creators/{author.user_id}/contents", 3) == mine[::-1]
    assert await _walk(client, "/api/v1/tags/编程/contents", 2) == [theirs, *mine[::-1]]
    r = await client.get("/api/v1/tags/不存在/contents")
    assert r.status_code == 404


async def test_my_contents_lists_drafts_too(client: httpx.AsyncClient) -> None:
    author = await signup(client)
    ids = [(await draft(client, author))["id"] for _ in range(3)]
    r = await client.get("/api/v1/me/contents", params={"limit": 2}, headers=author.headers)
    first = r.json()
    assert [i["id"] for i in first["items"]] == ids[:0:-1]
    r = await client.get(
        "/api/v1/me/contents", params={"cursor": first["next_cursor"]}, headers=author.headers
    )
    assert [i["id"] for i in r.json()["items"]] == ids[:1]


async def test_concurrent_creates_with_shared_new_tags_all_succeed(
    client: httpx.AsyncClient,
) -> None:
    # Double submits and busy creators: every create writes content_tags rows next to each
    # other and may create the same new tags; none may end as a deadlock or a 5xx.
    authors = [await signup(client, f"a{i}") for i in range(4)]

    async def create(i: int) -> httpx.Response:
        who = authors[i % len(authors)]
        body = {"title": f"并发 {i}", "body": "内容", "tags": ["共享新标签", f"t{i % 3}", "Rust"]}
        return await client.post("/api/v1/contents", json=body, headers=who.headers)

    import asyncio

    responses = await asyncio.gather(*(create(i) for i in range(24)))
    assert [r.status_code for r in responses] == [201] * 24
    r = await client.get("/api/v1/me/contents", params={"limit": 50}, headers=authors[0].headers)
    assert len(r.json()["items"]) == 6
    assert all("共享新标签" in item["tags"] for item in r.json()["items"])
