"""What a client will send wrong: every case answers a 4xx in the one JSON error shape, names the
field where there is one, and never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.helpers import Account, draft, signup

pytestmark = pytest.mark.integration


def assert_error(r: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    error: dict[str, Any] = r.json()["error"]
    assert set(error) <= {"code", "message", "fields"}
    assert error["code"]
    assert error["message"]
    if field is not None:
        assert field in error.get("fields", {}), error
    return error


@pytest.fixture
async def author(client: httpx.AsyncClient) -> Account:
    return await signup(client, "author")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": "long enough pw"}, "email"),
        ({"email": "a@example.com"}, "password"),
        ({"email": "not-an-email", "password": "long enough pw"}, "email"),
        ({"email": "a@example.com", "password": "short"}, "password"),
        ({"email": "a@example.com", "password": "x" * 129}, "password"),
        ({"email": "a" * 250 + "@example.com", "password": "long enough pw"}, "email"),
        ({"email": "a@example.com", "password": 12345678}, "password"),
        (
            {"email": "a@example.com", "password": "long enough pw", "display_name": "x" * 65},
            "display_name",
        ),
        ({"email": "a@example.com", "password": "long enough pw", "is_admin": True}, "is_admin"),
    ],
)
async def test_register_validation(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    assert_error(await client.post("/api/v1/auth/register", json=body), 422, field)


async def test_malformed_json_and_wrong_content(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/auth/register", content=b'{"email": ', headers={"content-type": "application/json"}
    )
    assert assert_error(r, 400, "body")["code"] == "invalid_json"
    r = await client.post(
        "/api/v1/auth/register", content=b"[1, 2]", headers={"content-type": "application/json"}
    )
    assert_error(r, 422)
    r = await client.post(
        "/api/v1/auth/register", content="email=a", headers={"content-type": "text/plain"}
    )
    assert r.status_code in (415, 422), r.text
    assert_error(r, r.status_code)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"body": "x"}, "title"),
        ({"title": "t"}, "body"),
        ({"title": "", "body": "x"}, "title"),
        ({"title": "   ", "body": "x"}, "title"),
        ({"title": "t" * 201, "body": "x"}, "title"),
        ({"title": "t", "body": "x", "excerpt": "e" * 501}, "excerpt"),
        ({"title": "t", "body": "x", "visibility": "everyone"}, "visibility"),
        ({"title": "t", "body": "x", "tags": "notalist"}, "tags"),
        ({"title": "t", "body": "x", "tags": ["t"] * 11}, "tags"),
        ({"title": "t", "body": "x", "tags": ["标" * 33]}, "tags.0"),
        ({"title": ["t"], "body": "x"}, "title"),
        ({"title": "t", "body": None}, "body"),
    ],
)
async def test_content_validation(
    client: httpx.AsyncClient, author: Account, body: dict[str, Any], field: str
) -> None:
    assert_error(
        await client.post("/api/v1/contents", json=body, headers=author.headers), 422, field
    )


async def test_body_size_limit(client: httpx.AsyncClient, author: Account) -> None:
    big = {"title": "t", "body": "字" * 400_000}  # 1.2 MB of UTF-8 > MAX_BODY_BYTES (1 MiB)
    r = await client.post("/api/v1/contents", json=big, headers=author.headers)
    assert assert_error(r, 413)["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/api/v1/contents/0", 422, "content_id"),
        ("/api/v1/contents/-5", 422, "content_id"),
        ("/api/v1/contents/abc", 422, "content_id"),
        ("/api/v1/contents/99999999999999999999999", 422, "content_id"),
        ("/api/v1/contents/987654321", 404, None),
        ("/api/v1/contents/slug/no-such-slug", 404, None),
        ("/api/v1/users/987654321", 404, None),
        ("/api/v1/creators/1/contents?cursor=not-a-cursor", 422, "cursor"),
        ("/api/v1/creators/1/contents?cursor=WyJ4IiwgMV0", 422, "cursor"),
        ("/api/v1/creators/1/contents?cursor=" + "A" * 300, 422, "cursor"),
        ("/api/v1/creators/1/contents?limit=0", 422, "limit"),
        ("/api/v1/creators/1/contents?limit=51", 422, "limit"),
        ("/api/v1/creators/1/contents?limit=ten", 422, "limit"),
        ("/api/v1/tags/nope/contents?cursor=%00", 422, "cursor"),
        ("/api/v1/no-such-route", 404, None),
    ],
)
async def test_bad_paths_and_queries(
    client: httpx.AsyncClient, path: str, status: int, field: str | None
) -> None:
    assert_error(await client.get(path), status, field)


async def test_wrong_method_and_unknown_ids_on_writes(
    client: httpx.AsyncClient, author: Account
) -> None:
    assert_error(await client.put("/api/v1/contents/1", json={}), 405)
    for method, path in (
        ("PATCH", "/api/v1/contents/987654321"),
        ("POST", "/api/v1/contents/987654321/publish"),
        ("DELETE", "/api/v1/contents/987654321"),
    ):
        r = await client.request(
            method, path, json={"title": "x"} if method == "PATCH" else None, headers=author.headers
        )
        assert_error(r, 404)


async def test_failed_update_loses_nothing(client: httpx.AsyncClient, author: Account) -> None:
    item = await draft(client, author, title="原标题", body="原文")
    r = await client.patch(
        f"/api/v1/contents/{item['id']}", json={"title": "", "body": "新"}, headers=author.headers
    )
    assert_error(r, 422, "title")
    r = await client.get(f"/api/v1/contents/{item['id']}", headers=author.headers)
    assert (r.json()["title"], r.json()["body"], r.json()["version"]) == ("原标题", "原文", 1)
