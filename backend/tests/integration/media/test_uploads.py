"""Uploads over HTTP on MariaDB with the local storage adapter: real files of each format, the
files an attacker sends, quotas, and the variants job."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from PIL import Image

from sharestack.dependencies import app_state
from tests.integration.billing import inline_jobs, scalar
from tests.integration.helpers import Account, signup
from tests.support import images

pytestmark = pytest.mark.integration


def media_root(app: FastAPI) -> Path:
    return app_state(app).settings.resolved_media_root


def stored_files(app: FastAPI) -> list[Path]:
    root = media_root(app)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture(autouse=True)
def _empty_media_root(app: FastAPI) -> None:
    for path in stored_files(app):
        path.unlink()


async def upload(
    client: httpx.AsyncClient,
    who: Account,
    data: bytes,
    content_type: str = "application/octet-stream",
    filename: str = "photo.jpg",
    **form: str,
) -> httpx.Response:
    return await client.post(
        "/api/v1/media",
        files={"file": (filename, data, content_type)},
        data=form,
        headers=who.headers,
    )


async def uploaded(client: httpx.AsyncClient, who: Account, data: bytes, **form: str) -> Any:
    r = await upload(client, who, data, **form)
    assert r.status_code == 201, r.text
    return r.json()


async def download(client: httpx.AsyncClient, url: str, who: Account | None = None) -> bytes:
    r = await client.get(url, headers=who.headers if who else {})
    assert r.status_code == 200, r.text
    return r.content


@pytest.mark.parametrize(
    ("fmt", "content_type", "mode"),
    [
        ("JPEG", "image/jpeg", "RGB"),
        ("PNG", "image/png", "RGBA"),
        ("WEBP", "image/webp", "RGB"),
        ("GIF", "image/gif", "P"),
    ],
)
async def test_each_format_round_trips(
    client: httpx.AsyncClient, app: FastAPI, fmt: str, content_type: str, mode: str
) -> None:
    owner = await signup(client, "owner")
    body = await uploaded(client, owner, images.encoded(fmt, (48, 36), mode))
    assert body["content_type"] == content_type
    assert (body["width"], body["height"]) == (48, 36)
    assert body["state"] == "processing"
    assert body["variants"] == []
    assert body["url"].startswith("/media/")
    data = await download(client, f"/api/v1/media/{body['id']}/file")
    assert len(data) == body["bytes"]
    with Image.open(io.BytesIO(data)) as again:
        assert (again.format, again.size) == (fmt, (48, 36))
    read = await client.get(f"/api/v1/media/{body['id']}")
    assert read.json() == body
    # One stored file, under the public root, named by the hash of its bytes.
    [path] = stored_files(app)
    assert path.relative_to(media_root(app)).parts[0] == "public"
    assert body["url"].endswith(path.name)


async def test_exif_gps_is_gone_from_every_stored_file(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    owner = await signup(client, "photographer")
    photo = images.photo(width=2000, height=1000)
    with Image.open(io.BytesIO(photo)) as original:
        assert original.getexif().get_ifd(0x8825)  # the upload does carry a GPS position
    async with inline_jobs(app) as jobs:
        body = await uploaded(client, owner, photo)
        await jobs.settle()
    # Orientation 6 was applied before the metadata went: the stored image is upright.
    assert (body["width"], body["height"]) == (1000, 2000)
    read = (await client.get(f"/api/v1/media/{body['id']}")).json()
    assert read["state"] == "ready"
    assert [v["variant"] for v in read["variants"]] == ["w320", "w960"]  # none wider than 1000
    assert [(v["width"], v["content_type"]) for v in read["variants"]] == [
        (320, "image/webp"),
        (960, "image/webp"),
    ]
    files = stored_files(app)
    assert len(files) == 3
    for path in files:
        data = path.read_bytes()
        with Image.open(path) as stored:
            assert not stored.getexif(), path
            assert "exif" not in stored.info
        assert b"Exif" not in data
        assert b"ShareStack Camera" not in data


async def test_what_attackers_send_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    owner = await signup(client, "attacker")
    jpeg = images.photo()
    cases: list[tuple[str, bytes, str, int, str]] = [
        ("truncated", jpeg[: len(jpeg) - 200], "image/jpeg", 422, "truncated"),
        ("zip appended", jpeg + images.zip_archive(), "image/jpeg", 422, "trailing_data"),
        ("html appended", jpeg + images.HTML_PAGE, "image/jpeg", 422, "trailing_data"),
        ("svg with script", images.SVG_WITH_SCRIPT, "image/svg+xml", 415, "svg"),
        ("svg as png", images.SVG_WITH_SCRIPT, "image/png", 415, "svg"),
        ("html page", images.HTML_PAGE, "image/png", 415, "markup"),
        ("bomb", images.png_bomb(), "image/png", 422, "too_many_pixels"),
        ("type lies", images.encoded("PNG"), "image/jpeg", 422, "content_type_mismatch"),
        ("empty", b"", "image/png", 422, "empty"),
        ("not an image", b"MZ\x90\x00 just bytes", "image/gif", 422, "not_an_image"),
        ("bmp", images.encoded("BMP"), "application/octet-stream", 415, "unsupported_format"),
    ]
    assert len(images.png_bomb()) < 4096
    for name, data, content_type, status, reason in cases:
        r = await upload(client, owner, data, content_type)
        assert r.status_code == status, (name, r.text)
        error = r.json()["error"]
        # A cut JPEG may be caught by its missing end marker or by the decoder.
        allowed = {reason, "corrupt"} if reason == "truncated" else {reason}
        assert error["fields"]["file"] in allowed, (name, error)
        assert error["message"], name
    assert stored_files(app) == []
    assert await scalar(app, "SELECT COUNT(*) FROM media") == 0
    assert await scalar(app, "SELECT COUNT(*) FROM media_blobs") == 0


async def test_upload_body_limits(
    client: httpx.AsyncClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await signup(client, "big")
    settings = app_state(app).settings
    monkeypatch.setattr(settings, "media_max_upload_bytes", 100_000)
    big = images.noise_jpeg(400, 400, quality=95)
    assert len(big) > 100_000
    r = await upload(client, owner, big, "image/jpeg")
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] == "image_too_large"
    # Far above what the route takes (the file limit plus the multipart envelope): refused
    # before it is read (the middleware's limit was fixed when the app was made).
    limit = settings.max_body_bytes
    huge = b"\xff\xd8" + b"\x00" * (20 * 1024 * 1024)
    r = await upload(client, owner, huge, "image/jpeg")
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
    # The JSON routes keep MAX_BODY_BYTES.
    r = await client.post(
        "/api/v1/contents",
        content=b'{"title": "t", "body": "' + b"x" * (limit + 10) + b'"}',
        headers=owner.headers | {"Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert stored_files(app) == []


async def test_quota_in_count_and_bytes(
    client: httpx.AsyncClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await signup(client, "quota")
    settings = app_state(app).settings
    monkeypatch.setattr(settings, "media_quota_count", 2)
    first = await uploaded(client, owner, images.encoded("PNG", (10, 10)))
    await uploaded(client, owner, images.encoded("PNG", (11, 10)))
    r = await upload(client, owner, images.encoded("PNG", (12, 10)))
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "media_quota_exceeded"
    assert len(stored_files(app)) == 2
    # A delete gives the quota back.
    assert (
        await client.delete(f"/api/v1/media/{first['id']}", headers=owner.headers)
    ).status_code == 204
    await uploaded(client, owner, images.encoded("PNG", (12, 10)))

    monkeypatch.setattr(settings, "media_quota_count", 100)
    used = await scalar(
        app, f"SELECT total_bytes FROM media_accounts WHERE user_id = {owner.user_id}"
    )
    monkeypatch.setattr(settings, "media_quota_bytes", used + 50)
    r = await upload(client, owner, images.noise_jpeg(64, 64))
    assert r.status_code == 403
    assert "bytes" in r.json()["error"]["message"]


async def test_anonymous_and_others(client: httpx.AsyncClient) -> None:
    owner = await signup(client, "owner")
    other = await signup(client, "other")
    r = await client.post("/api/v1/media", files={"file": ("a.png", images.encoded("PNG"))})
    assert r.status_code == 401
    body = await uploaded(client, owner, images.encoded("PNG"))
    r = await client.delete(f"/api/v1/media/{body['id']}", headers=other.headers)
    assert r.status_code == 403
    assert (
        await client.delete(f"/api/v1/media/{body['id']}", headers=owner.headers)
    ).status_code == 204
    assert (await client.get(f"/api/v1/media/{body['id']}")).status_code == 404
    assert (
        await client.delete(f"/api/v1/media/{body['id']}", headers=owner.headers)
    ).status_code == 404
    r = await upload(client, owner, images.encoded("PNG"), access="everyone")
    assert r.status_code == 422


async def test_avatar(client: httpx.AsyncClient, app: FastAPI) -> None:
    owner = await signup(client, "face")
    r = await client.put(
        "/api/v1/me/avatar",
        files={"file": ("me.jpg", images.photo(), "image/jpeg")},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    avatar = r.json()
    assert avatar["access"] == "public"
    stored = await scalar(
        app, f"SELECT avatar_media_id FROM media_accounts WHERE user_id = {owner.user_id}"
    )
    assert stored == avatar["id"]
    r = await client.put(
        "/api/v1/me/avatar",
        files={"file": ("me.svg", images.SVG_WITH_SCRIPT, "image/svg+xml")},
        headers=owner.headers,
    )
    assert r.status_code == 415
    assert await scalar(app, "SELECT COUNT(*) FROM media") == 1
    _ = sa  # sqlalchemy stays imported for the scalar helper's text queries
