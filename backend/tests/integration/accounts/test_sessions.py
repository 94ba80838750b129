"""Login sessions: listing, ending one, ending all, the absolute lifetime, and what resolving a
session costs in Redis commands."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sharestack.callers.store import LAST_SEEN_RESOLUTION, LoginStore, token_digest
from sharestack.dependencies import app_state
from tests.integration.helpers import PASSWORD, signup

pytestmark = pytest.mark.integration


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _login(client: httpx.AsyncClient, email: str, agent: str = "test-agent") -> str:
    r = await client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": PASSWORD},
        headers={"User-Agent": agent},
    )
    assert r.status_code == 200, r.text
    client.cookies.clear()
    token: str = r.json()["token"]
    return token


@contextmanager
def counting(app: FastAPI) -> Iterator[list[str]]:
    """Every command the sessions Redis client sends (pipelines count as one round trip)."""
    client = app_state(app).redis.sessions
    sent: list[str] = []
    original_command = client.execute_command
    original_pipeline = client.pipeline

    async def command(*args: Any, **kwargs: Any) -> Any:
        sent.append(str(args[0]))
        return await original_command(*args, **kwargs)

    def pipeline(*args: Any, **kwargs: Any) -> Any:
        sent.append("PIPELINE")
        return original_pipeline(*args, **kwargs)

    client.execute_command = command  # type: ignore[method-assign]
    client.pipeline = pipeline  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        del client.execute_command
        del client.pipeline


async def test_list_shows_each_session_and_which_is_current(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    me = await signup(client)
    phone = await _login(client, me.email, "Phone/1.0 MicroMessenger/8.0")
    r = await client.get("/api/v1/me/sessions", headers=me.headers)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 2
    assert [i["current"] for i in items].count(True) == 1
    mine = next(i for i in items if i["current"])
    other = next(i for i in items if not i["current"])
    assert other["user_agent"] == "Phone/1.0 MicroMessenger/8.0"
    assert other["ip"] == "127.0.0.1"
    assert set(mine) == {
        "id",
        "created_at",
        "last_seen_at",
        "expires_at",
        "ip",
        "user_agent",
        "current",
    }
    # The public id is neither the token nor its digest.
    digest = token_digest(app_state(app).settings.secret_key, phone)
    assert other["id"] not in phone
    assert other["id"] not in digest
    # Another user sees only their own.
    them = await signup(client, "them")
    r = await client.get("/api/v1/me/sessions", headers=them.headers)
    assert [i["current"] for i in r.json()["items"]] == [True]


async def test_end_one_session_by_id(client: httpx.AsyncClient) -> None:
    me = await signup(client)
    phone = await _login(client, me.email)
    them = await signup(client, "them")
    items = (await client.get("/api/v1/me/sessions", headers=me.headers)).json()["items"]
    other = next(i for i in items if not i["current"])
    # Someone else cannot end it, even knowing its id.
    r = await client.delete(f"/api/v1/me/sessions/{other['id']}", headers=them.headers)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "session_not_found"
    assert (await client.get("/api/v1/me", headers=_bearer(phone))).status_code == 200
    r = await client.delete(f"/api/v1/me/sessions/{other['id']}", headers=me.headers)
    assert r.status_code == 204
    assert (await client.get("/api/v1/me", headers=_bearer(phone))).status_code == 401
    assert (await client.get("/api/v1/me", headers=me.headers)).status_code == 200
    r = await client.delete(f"/api/v1/me/sessions/{other['id']}", headers=me.headers)
    assert r.status_code == 404
    r = await client.delete("/api/v1/me/sessions/not-an-id", headers=me.headers)
    assert r.status_code == 422


async def test_logout_all_ends_every_old_token(client: httpx.AsyncClient) -> None:
    me = await signup(client)
    tokens = [me.token, *[await _login(client, me.email) for _ in range(4)]]
    bystander = await signup(client, "bystander")
    r = await client.post("/api/v1/auth/logout-all", headers=me.headers)
    assert r.status_code == 200
    assert r.json() == {"ended": 5}
    for token in tokens:
        assert (await client.get("/api/v1/me", headers=_bearer(token))).status_code == 401
    assert (await client.get("/api/v1/me", headers=bystander.headers)).status_code == 200
    fresh = await _login(client, me.email)
    assert (await client.get("/api/v1/me", headers=_bearer(fresh))).status_code == 200


async def test_absolute_lifetime_is_enforced(client: httpx.AsyncClient, app: FastAPI) -> None:
    me = await signup(client)
    state = app_state(app)
    short = state.settings.model_copy(update={"session_absolute_ttl_seconds": 2})
    token = await LoginStore(state.redis, short).create(me.user_id)
    key = state.redis.key("sess", token_digest(state.settings.secret_key, token))
    assert await state.redis.sessions.ttl(key) <= 2
    # Kept busy, it still ends: the sliding expiry (14 days) never passes the absolute end.
    assert (await client.get("/api/v1/me", headers=_bearer(token))).status_code == 200
    assert await state.redis.sessions.ttl(key) <= 2
    await state.redis.sessions.expire(key, 3600)  # even if the key outlived it, the value says no
    await asyncio.sleep(2.2)
    assert (await client.get("/api/v1/me", headers=_bearer(token))).status_code == 401
    assert not await state.redis.sessions.exists(key)


async def test_resolving_a_session_is_one_redis_command(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    me = await signup(client)
    await client.get("/api/v1/me", headers=me.headers)
    with counting(app) as sent:
        for _ in range(5):
            r = await client.get("/api/v1/me", headers=me.headers)
            assert r.status_code == 200
    # EVALSHA: read, check the absolute end; no last-seen write (nor expiry push) inside the
    # minute.
    assert sent == ["EVALSHA"] * 5, sent
    with counting(app) as sent:
        assert (await client.get("/api/v1/me/sessions", headers=me.headers)).status_code == 200
    assert sent == ["EVALSHA", "ZRANGEBYSCORE", "MGET"], sent
    with counting(app) as sent:
        assert (await client.post("/api/v1/auth/logout-all", headers=me.headers)).status_code == 200
    assert sent == ["EVALSHA", "ZRANGE", "PIPELINE"], sent


async def test_last_seen_is_written_at_most_once_a_minute(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    me = await signup(client)
    state = app_state(app)
    key = state.redis.key("sess", token_digest(state.settings.secret_key, me.token))
    before = await state.redis.sessions.get(key)
    assert (await client.get("/api/v1/me", headers=me.headers)).status_code == 200
    assert await state.redis.sessions.get(key) == before  # within the minute: not rewritten
    # Pretend the last sighting was over a minute ago.
    import orjson

    data = orjson.loads(before)
    data["seen"] = int(time.time()) - LAST_SEEN_RESOLUTION - 5
    await state.redis.sessions.set(key, orjson.dumps(data), ex=3600)
    assert (await client.get("/api/v1/me", headers=me.headers)).status_code == 200
    assert orjson.loads(await state.redis.sessions.get(key))["seen"] >= int(time.time()) - 2


async def test_sessions_from_before_the_index_are_refused(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """A session value without a public id (an older release) is not in the per-user index that
    log-out-everywhere uses: it is refused, and the user signs in again."""
    import orjson

    me = await signup(client)
    state = app_state(app)
    key = state.redis.key("sess", token_digest(state.settings.secret_key, me.token))
    await state.redis.sessions.set(
        key, orjson.dumps({"uid": me.user_id, "iat": time.time()}), ex=3600
    )
    assert (await client.get("/api/v1/me", headers=me.headers)).status_code == 401
