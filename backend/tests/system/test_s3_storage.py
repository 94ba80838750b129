"""The S3 storage adapter against an S3-protocol server process (moto in server mode), and the
API on MEDIA_STORAGE=s3: an upload lands in the bucket, a subscribers-only file is handed out
as a signed, expiring URL, a public one by its public URL.

What this proves: the adapter's requests are valid S3 (SigV4 signed, path-style addressing),
objects round-trip with their Content-Type and Cache-Control, a missing key reads as missing,
deletes are idempotent, a presigned URL fetches a private object that an unsigned URL cannot.
What it does not: that a forged or expired signature is refused (moto does not check the
signature's value), the behaviour of a real provider (AWS, OSS, COS) under load, virtual-host
addressing against their DNS, their own presign rules, or a real bucket policy that makes
``public/`` readable (deployments set one; here public objects are read through the adapter).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from aiobotocore.session import get_session
from fastapi import FastAPI

from sharestack.config import Settings
from sharestack.dependencies import app_state
from sharestack.main import create_app
from sharestack.storage import StoredObjectMissing
from sharestack.storage.s3 import S3Options, S3Storage
from tests.integration.helpers import signup
from tests.support import images
from tests.support.s3_server import ACCESS_KEY, REGION, SECRET_KEY, S3Server, s3_server

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with s3_server(tmp_path_factory.mktemp("s3")) as running:
        yield running


async def make_bucket(server: S3Server) -> str:
    name = f"media-{secrets.token_hex(4)}"
    async with get_session().create_client(
        "s3",
        endpoint_url=server.endpoint_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    ) as client:
        await client.create_bucket(Bucket=name)
    return name


@pytest.fixture
async def storage(server: S3Server) -> AsyncIterator[S3Storage]:
    options = S3Options(
        bucket=await make_bucket(server),
        endpoint_url=server.endpoint_url,
        region=REGION,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        addressing_style="path",
        prefix="ss/",
    )
    adapter = await S3Storage(options).open()
    yield adapter
    await adapter.aclose()


async def test_objects_round_trip(storage: S3Storage) -> None:
    await storage.check()
    key = "public/ab/abcdef.png"
    data = images.encoded("PNG")
    assert not await storage.exists(key)
    with pytest.raises(StoredObjectMissing):
        await storage.get(key)
    await storage.put(key, data, "image/png", "public, max-age=31536000, immutable")
    assert await storage.exists(key)
    assert await storage.get(key) == data
    head = await storage.client.head_object(Bucket=storage.options.bucket, Key="ss/" + key)
    assert head["ContentType"] == "image/png"
    assert head["CacheControl"] == "public, max-age=31536000, immutable"
    await storage.delete(key)
    await storage.delete(key)  # already gone: not an error
    assert not await storage.exists(key)
    assert storage.local_path(key) is None


async def test_signed_urls(storage: S3Storage) -> None:
    key = "protected/cd/cdef.jpg"
    data = images.photo()
    await storage.put(key, data, "image/jpeg", "private, no-store")
    url = await storage.signed_url(key, 60)
    assert url is not None
    assert "X-Amz-Signature=" in url
    assert "X-Amz-Expires=60" in url
    async with httpx.AsyncClient() as http:
        r = await http.get(url)
        assert r.status_code == 200
        assert r.content == data
        assert r.headers["content-type"] == "image/jpeg"
        # Without the signature the private object is refused. (moto does not verify the
        # signature's value, so a forged signature is not tested here: see the module doc.)
        unsigned = url.split("?")[0]
        assert (await http.get(unsigned)).status_code == 403


@pytest.fixture
async def s3_app(
    settings: Settings, migrated: Settings, server: S3Server
) -> AsyncIterator[FastAPI]:
    bucket = await make_bucket(server)
    s3_settings = migrated.model_copy(
        update={
            "media_storage": "s3",
            "s3_bucket": bucket,
            "s3_endpoint_url": server.endpoint_url,
            "s3_region": REGION,
            "s3_access_key_id": ACCESS_KEY,
            "s3_secret_access_key": SECRET_KEY,
            "s3_addressing_style": "path",
            "media_public_base_url": f"{server.endpoint_url}/{bucket}",
        }
    )
    application = create_app(s3_settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_the_api_on_object_storage(s3_app: FastAPI, clean_tables: None) -> None:
    transport = httpx.ASGITransport(app=s3_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        creator = await signup(client, "creator")
        other = await signup(client, "other")
        photo = images.photo()
        r = await client.post(
            "/api/v1/media",
            files={"file": ("p.jpg", photo, "image/jpeg")},
            data={"access": "subscribers"},
            headers=creator.headers,
        )
        assert r.status_code == 201, r.text
        paid = r.json()
        r = await client.get(paid["url"], headers=creator.headers)
        assert r.status_code == 302
        assert r.headers["cache-control"] == "no-store"
        signed = r.headers["location"]
        assert "X-Amz-Signature=" in signed
        assert (await client.get(paid["url"], headers=other.headers)).status_code == 403
        public = (
            await client.post(
                "/api/v1/media",
                files={"file": ("a.png", images.encoded("PNG"), "image/png")},
                headers=creator.headers,
            )
        ).json()
    storage = app_state(s3_app).storage
    async with httpx.AsyncClient() as http:
        fetched = await http.get(signed)
        assert fetched.status_code == 200
        assert fetched.content[:2] == b"\xff\xd8"
        assert len(fetched.content) == paid["bytes"]
    assert public["url"].startswith(app_state(s3_app).settings.media_public_base_url + "/")
    key = "public/" + public["url"].rsplit("/", 2)[-2] + "/" + public["url"].rsplit("/", 1)[-1]
    assert await storage.get(key) == await _public_bytes(storage, key)
    assert storage.name == "s3"


async def _public_bytes(storage: object, key: str) -> bytes:
    assert isinstance(storage, S3Storage)
    response = await storage.client.get_object(Bucket=storage.options.bucket, Key=key)
    async with response["Body"] as stream:
        data: bytes = await stream.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return data
