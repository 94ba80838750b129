"""What every response promises beyond its body, on the real stack: 401 says how to
authenticate, private answers are not stored by browsers or proxies, public ones keep their
caching, and MariaDB errors do not carry the statement's parameters."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from sharestack.dependencies import app_state
from tests.integration.helpers import PASSWORD, published, signup

pytestmark = pytest.mark.integration


async def test_401_says_bearer(client: httpx.AsyncClient) -> None:
    for r in [
        await client.get("/api/v1/me"),
        await client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"}),
        await client.post("/api/v1/auth/logout"),
        await client.post(
            "/api/v1/auth/login", json={"email": "nobody@example.com", "password": PASSWORD}
        ),
    ]:
        assert r.status_code == 401, r.text
        assert r.headers["www-authenticate"] == "Bearer"


async def test_private_answers_are_not_stored(client: httpx.AsyncClient) -> None:
    email = "cache-control@example.com"
    r = await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert (r.status_code, r.headers["cache-control"]) == (201, "no-store")
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert (r.status_code, r.headers["cache-control"]) == (200, "no-store")
    client.cookies.clear()
    token = r.json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    for r in [
        await client.get("/api/v1/me", headers=bearer),
        await client.get("/api/v1/me/contents", headers=bearer),
        await client.get("/api/v1/me", headers={"Cookie": f"ss_session={token}"}),
    ]:
        assert (r.status_code, r.headers["cache-control"]) == (200, "no-store")
        assert r.headers["x-content-type-options"] == "nosniff"


async def test_public_reads_by_anonymous_callers_are_not_marked_private(
    client: httpx.AsyncClient,
) -> None:
    author = await signup(client, "author")
    item = await published(client, author)
    r = await client.get(f"/api/v1/contents/{item['id']}")
    assert r.status_code == 200
    assert "no-store" not in r.headers.get("cache-control", "")
    assert r.headers["x-frame-options"] == "DENY"
    # The same read by a signed-in caller may carry what only they see.
    r = await client.get(f"/api/v1/contents/{item['id']}", headers=author.headers)
    assert r.headers["cache-control"] == "no-store"


async def test_mariadb_errors_hide_parameters(app: FastAPI, clean_tables: None) -> None:
    secret = "hunter2-not-for-logs"
    engine = app_state(app).db.write_engine
    async with engine.connect() as conn:
        with pytest.raises(sa.exc.ProgrammingError) as caught:
            await conn.execute(sa.text("INSERT INTO no_such_table VALUES (:v)"), {"v": secret})
    assert secret not in str(caught.value)
