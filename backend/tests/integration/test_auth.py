from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest

from sharestack.callers.store import LAST_SEEN_RESOLUTION, token_digest
from sharestack.dependencies import app_state
from tests.integration.helpers import PASSWORD, signup

pytestmark = pytest.mark.integration


async def test_register_login_me_logout(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/auth/register",
        json={"email": "Writer@Example.com", "password": PASSWORD, "display_name": "写作者"},
    )
    assert r.status_code == 201
    assert r.json()["email"] == "writer@example.com"
    assert r.json()["display_name"] == "写作者"

    r = await client.post(
        "/api/v1/auth/login", json={"email": "writer@example.com", "password": PASSWORD}
    )
    assert r.status_code == 200
    token = r.json()["token"]
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie

    # The cookie alone authenticates (browsers) ...
    client.cookies.clear()
    client.cookies.set("ss_session", token)
    r = await client.get("/api/v1/me")
    assert r.status_code == 200
    assert r.json()["email"] == "writer@example.com"
    client.cookies.clear()
    # ... and so does the bearer header (API clients).
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200

    r = await client.post("/api/v1/auth/logout", headers=headers)
    assert r.status_code == 204
    r = await client.get("/api/v1/me", headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"


async def test_token_is_stored_only_as_a_digest(client: httpx.AsyncClient, app: object) -> None:
    account = await signup(client)
    redis = app_state(app).redis
    # Login sessions only: the sessions role also keeps phone codes and WeChat states.
    keys = [k.decode() async for k in redis.sessions.scan_iter(match=redis.key("sess", "*"))]
    assert keys, "the session should be in Redis"
    assert all(account.token not in k for k in keys)
    for key in keys:
        if await redis.sessions.type(key) == b"zset":  # the per-user index holds digests
            members = await redis.sessions.zrange(key, 0, -1)
            assert members
            assert all(account.token.encode() not in m for m in members)
        else:
            assert account.token.encode() not in await redis.sessions.get(key)


async def test_session_expiry_slides(client: httpx.AsyncClient, app: object) -> None:
    account = await signup(client)
    redis = app_state(app).redis
    digest = token_digest(app_state(app).settings.secret_key, account.token)
    key = redis.key("sess", digest)
    assert await redis.sessions.exists(key)
    # Last seen over a minute ago (the resolution the expiry slides with) and about to expire.
    data = orjson.loads(await redis.sessions.get(key))
    data["seen"] -= LAST_SEEN_RESOLUTION + 5
    await redis.sessions.set(key, orjson.dumps(data), ex=100)
    assert (await client.get("/api/v1/me", headers=account.headers)).status_code == 200
    assert await redis.sessions.ttl(key) > 100
    # Seen again within the minute: nothing is written (the script's GET only).
    await redis.sessions.expire(key, 200)
    assert (await client.get("/api/v1/me", headers=account.headers)).status_code == 200
    assert await redis.sessions.ttl(key) <= 200


async def test_wrong_password_and_unknown_email_look_the_same(client: httpx.AsyncClient) -> None:
    account = await signup(client)
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": "not the password"}
    )
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": "nobody@example.com", "password": "not the password"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert "set-cookie" not in wrong.headers


async def test_duplicate_email_is_a_409_naming_the_field(client: httpx.AsyncClient) -> None:
    account = await signup(client)
    r = await client.post(
        "/api/v1/auth/register", json={"email": account.email.upper(), "password": PASSWORD}
    )
    assert r.status_code == 409
    assert r.json()["error"]["fields"] == {"email": "already registered"}


async def test_concurrent_double_submit_creates_one_account(client: httpx.AsyncClient) -> None:
    body = {"email": "double@example.com", "password": PASSWORD}
    results = await asyncio.gather(
        *(client.post("/api/v1/auth/register", json=body) for _ in range(5))
    )
    codes = sorted(r.status_code for r in results)
    assert codes.count(201) == 1, codes
    assert set(codes) <= {201, 409}, codes


async def test_profile_update(client: httpx.AsyncClient) -> None:
    account = await signup(client)
    r = await client.patch(
        "/api/v1/me", json={"display_name": "新名字", "bio": "关于我 ✨"}, headers=account.headers
    )
    assert r.status_code == 200
    assert (r.json()["display_name"], r.json()["bio"]) == ("新名字", "关于我 ✨")
    r = await client.get(f"/api/v1/users/{account.user_id}")
    assert r.json()["display_name"] == "新名字"
    assert "email" not in r.json()


async def test_protected_routes_need_a_valid_token(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        r = await client.get("/api/v1/me", headers=headers)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "unauthorized"
