"""Subscribers-only media behind the paywall's entitlement check, the media of content items,
the cleanup job, and races of uploads and deletes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from sharestack.db.base import utcnow
from sharestack.dependencies import app_state
from tests.integration.billing import (
    checkout,
    execute,
    inline_jobs,
    make_plan,
    sandbox_pay,
    scalar,
)
from tests.integration.helpers import Account, published, signup
from tests.integration.media.test_uploads import stored_files, upload, uploaded
from tests.support import images

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _empty_media_root(app: FastAPI) -> None:
    for path in stored_files(app):
        path.unlink()


async def subscribe(
    client: httpx.AsyncClient, app: FastAPI, creator: Account, reader: Account
) -> None:
    plan = await make_plan(client, creator)
    async with inline_jobs(app) as jobs:
        done = await checkout(client, reader, plan["id"])
        await sandbox_pay(client, reader, done["payment"]["id"])
        await jobs.settle()


async def test_subscribers_media_for_the_author_and_subscribers_only(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    creator = await signup(client, "creator")
    reader = await signup(client, "reader")
    stranger = await signup(client, "stranger")
    paid = await uploaded(client, creator, images.photo(), access="subscribers")
    cover = await uploaded(client, creator, images.encoded("PNG"))
    assert paid["url"] == f"/api/v1/media/{paid['id']}/file"
    [protected] = [p for p in stored_files(app) if p.suffix == ".jpg"]
    assert "protected" in protected.parts
    item = await published(client, creator, visibility="subscribers", body="付费 paid")
    r = await client.put(
        f"/api/v1/contents/{item['id']}/media",
        json={"cover_media_id": cover["id"], "media_ids": [paid["id"]]},
        headers=creator.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["cover"]["id"] == cover["id"]
    assert [m["id"] for m in r.json()["media"]] == [paid["id"]]

    file_url = paid["url"]
    assert (await client.get(file_url, headers=creator.headers)).status_code == 200
    for who in (reader, stranger):
        r = await client.get(file_url, headers=who.headers)
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "subscribers_only"
        assert (
            await client.get(f"/api/v1/media/{paid['id']}", headers=who.headers)
        ).status_code == 403
        listed = (
            await client.get(f"/api/v1/contents/{item['id']}/media", headers=who.headers)
        ).json()
        assert listed["cover"]["id"] == cover["id"]  # the cover is public
        assert listed["media"] == []  # the embeds go with the withheld body
    assert (await client.get(file_url)).status_code == 403

    await subscribe(client, app, creator, reader)
    r = await client.get(file_url, headers=reader.headers)
    assert r.status_code == 200
    assert "no-store" in r.headers["cache-control"]
    assert r.content == protected.read_bytes()
    listed = (
        await client.get(f"/api/v1/contents/{item['id']}/media", headers=reader.headers)
    ).json()
    assert [m["id"] for m in listed["media"]] == [paid["id"]]
    assert (await client.get(file_url, headers=stranger.headers)).status_code == 403


async def test_x_accel_redirect_when_behind_nginx(
    client: httpx.AsyncClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    creator = await signup(client, "creator")
    monkeypatch.setattr(app_state(app).settings, "media_accel_redirect", True)
    paid = await uploaded(client, creator, images.photo(), access="subscribers")
    r = await client.get(paid["url"], headers=creator.headers)
    assert r.status_code == 200
    assert r.content == b""
    sha = await scalar(app, f"SELECT sha256 FROM media WHERE id = {paid['id']}")
    assert r.headers["x-accel-redirect"] == f"/_protected_media/{sha[:2]}/{sha}.jpg"
    public = await uploaded(client, creator, images.encoded("PNG"))
    r = await client.get(f"/api/v1/media/{public['id']}/file")
    assert r.status_code == 302
    assert r.headers["location"] == public["url"]


async def test_content_media_refuses_what_is_not_yours(client: httpx.AsyncClient) -> None:
    creator = await signup(client, "creator")
    other = await signup(client, "other")
    theirs = await uploaded(client, other, images.encoded("PNG"))
    item = await published(client, creator)
    r = await client.put(
        f"/api/v1/contents/{item['id']}/media",
        json={"media_ids": [theirs["id"]]},
        headers=creator.headers,
    )
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "invalid_media_reference"
    r = await client.put(
        f"/api/v1/contents/{item['id']}/media", json={"media_ids": []}, headers=other.headers
    )
    assert r.status_code == 403


async def test_cleanup_removes_what_nothing_references(
    client: httpx.AsyncClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = app_state(app)
    creator = await signup(client, "creator")
    twin = await signup(client, "twin")
    same = images.encoded("PNG", (30, 30))
    kept = await uploaded(client, creator, same)
    shared = await uploaded(client, twin, same)  # the same bytes: one stored file
    assert len(stored_files(app)) == 1
    in_article = await uploaded(client, creator, images.encoded("PNG", (31, 30)))
    item = await published(client, creator)
    r = await client.put(
        f"/api/v1/contents/{item['id']}/media",
        json={"cover_media_id": in_article["id"]},
        headers=creator.headers,
    )
    assert r.status_code == 200
    assert len(stored_files(app)) == 2

    async with inline_jobs(app) as jobs:
        assert await jobs.run("clean_up_media") == 0  # everything is referenced
        assert (
            await client.delete(f"/api/v1/media/{shared['id']}", headers=twin.headers)
        ).status_code == 204
        assert (
            await client.delete(f"/api/v1/contents/{item['id']}", headers=creator.headers)
        ).status_code == 204
        # Within the grace period nothing goes.
        assert await jobs.run("clean_up_media") == 0
        assert len(stored_files(app)) == 2
        assert (await client.get(f"/api/v1/media/{in_article['id']}")).status_code == 404
        past = utcnow() - timedelta(seconds=state.settings.media_cleanup_grace_seconds + 60)
        await execute(app, "UPDATE media SET deleted_at = :t WHERE deleted_at IS NOT NULL", t=past)
        await execute(app, "UPDATE media_blobs SET created_at = :t", t=past)
        assert await jobs.run("clean_up_media") == 1  # the article's cover
        assert await jobs.run("clean_up_media") == 0
    # The twin's deleted copy is gone, the creator's live copy of the same bytes stays.
    assert len(stored_files(app)) == 1
    r = await client.get(f"/api/v1/media/{kept['id']}/file")
    assert r.status_code == 200
    assert await scalar(app, "SELECT COUNT(*) FROM media") == 1


async def test_twenty_concurrent_uploads_of_one_file_store_it_once(
    client: httpx.AsyncClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await signup(client, "racer")
    monkeypatch.setattr(app_state(app).settings, "media_quota_count", 3)
    data = images.photo()
    results = await asyncio.gather(*(upload(client, owner, data) for _ in range(20)))
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] * 20, [r.text for r in results if r.status_code >= 300]
    assert len({r.json()["id"] for r in results}) == 1
    assert len(stored_files(app)) == 1
    assert await scalar(app, "SELECT COUNT(*) FROM media") == 1
    # Twenty different files against a quota of 3: exactly 3 are accepted, the rest get 403.
    different = [images.encoded("PNG", (20 + i, 20)) for i in range(20)]
    results = await asyncio.gather(*(upload(client, owner, d) for d in different))
    assert sorted(r.status_code for r in results) == [201] * 2 + [403] * 18
    counted = await scalar(
        app, f"SELECT item_count FROM media_accounts WHERE user_id = {owner.user_id}"
    )
    assert counted == 3 == await scalar(app, "SELECT COUNT(*) FROM media WHERE deleted_at IS NULL")


async def test_twenty_concurrent_deletes(client: httpx.AsyncClient, app: FastAPI) -> None:
    owner = await signup(client, "deleter")
    body = await uploaded(client, owner, images.photo())
    results = await asyncio.gather(
        *(client.delete(f"/api/v1/media/{body['id']}", headers=owner.headers) for _ in range(20))
    )
    assert sorted(r.status_code for r in results) == [204] + [404] * 19
    assert (
        await scalar(app, f"SELECT item_count FROM media_accounts WHERE user_id = {owner.user_id}")
        == 0
    )
    assert (
        await scalar(app, f"SELECT total_bytes FROM media_accounts WHERE user_id = {owner.user_id}")
        == 0
    )
