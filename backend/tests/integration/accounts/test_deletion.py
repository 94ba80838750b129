"""Account deletion and export: identities, sessions and personal data go; money records stay,
pointing at an anonymised tombstone."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from sharestack.dependencies import app_state
from tests.integration.billing import checkout, inline_jobs, make_plan, sandbox_pay, scalar
from tests.integration.helpers import PASSWORD, Account, published, signup

pytestmark = pytest.mark.integration


async def _paid_reader(client: httpx.AsyncClient, app: FastAPI) -> tuple[Account, Account, int]:
    creator = await signup(client, "creator")
    reader = await signup(client, "reader")
    plan = await make_plan(client, creator, price_amount=1200)
    async with inline_jobs(app) as jobs:
        done = await checkout(client, reader, plan["id"])
        await sandbox_pay(client, reader, done["payment"]["id"])
        await jobs.settle()
    subs = (await client.get("/api/v1/me/subscriptions", headers=reader.headers)).json()
    assert subs[0]["has_access"]
    return creator, reader, done["payment"]["id"]


async def test_export_has_every_part_and_no_secret(client: httpx.AsyncClient, app: FastAPI) -> None:
    creator, reader, payment_id = await _paid_reader(client, app)
    await published(client, reader, title="读者的文章")
    r = await client.get("/api/v1/me/export", headers=reader.headers)
    assert r.status_code == 200, r.text
    data = r.json()
    assert set(data) == {
        "exported_at",
        "profile",
        "identities",
        "contents",
        "subscriptions",
        "payments",
    }
    assert data["profile"]["email"] == reader.email
    assert data["identities"] == [
        {
            "provider": "password",
            "identifier": reader.email,
            "created_at": data["identities"][0]["created_at"],
            "last_used_at": data["identities"][0]["last_used_at"],
        }
    ]
    assert [c["title"] for c in data["contents"]] == ["读者的文章"]
    assert data["contents"][0]["body"]
    assert [p["id"] for p in data["payments"]] == [payment_id]
    assert len(data["subscriptions"]) == 1
    assert "argon2" not in r.text
    assert PASSWORD not in r.text
    # The creator's export has their plan's subscriber in no form: only their own data.
    theirs = (await client.get("/api/v1/me/export", headers=creator.headers)).json()
    assert theirs["payments"] == []
    assert theirs["subscriptions"] == []


async def test_delete_needs_the_current_password(client: httpx.AsyncClient) -> None:
    me = await signup(client)
    for body in ({}, {"password": "wrong password!"}):
        r = await client.request("DELETE", "/api/v1/me", json=body, headers=me.headers)
        assert r.status_code == 401, r.text
        assert "password" in r.json()["error"]["fields"]
    assert (await client.get("/api/v1/me", headers=me.headers)).status_code == 200


async def test_delete_erases_identities_and_sessions_and_keeps_payments(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _creator, reader, payment_id = await _paid_reader(client, app)
    item = await published(client, reader)
    r = await client.post("/api/v1/auth/login", json={"email": reader.email, "password": PASSWORD})
    second = r.json()["token"]
    client.cookies.clear()

    r = await client.request(
        "DELETE", "/api/v1/me", json={"password": PASSWORD}, headers=reader.headers
    )
    assert r.status_code == 204, r.text

    # Every session ended; the account cannot sign in again.
    for token in (reader.token, second):
        r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401
    r = await client.post("/api/v1/auth/login", json={"email": reader.email, "password": PASSWORD})
    assert r.status_code == 401
    # Identities and personal data are gone.
    uid = reader.user_id
    assert await scalar(app, "SELECT COUNT(*) FROM user_auth WHERE user_id = :u", u=uid) == 0
    assert await scalar(app, "SELECT COUNT(*) FROM account_tokens WHERE user_id = :u", u=uid) == 0
    assert await scalar(app, "SELECT email FROM users WHERE id = :u", u=uid) == (
        f"deleted-{uid}@deleted.invalid"
    )
    assert await scalar(app, "SELECT status FROM users WHERE id = :u", u=uid) == "disabled"
    assert await scalar(app, "SELECT deleted_at IS NOT NULL FROM users WHERE id = :u", u=uid)
    assert await scalar(app, "SELECT bio FROM user_profiles WHERE user_id = :u", u=uid) == ""
    assert (await client.get(f"/api/v1/users/{uid}")).status_code == 404
    assert await scalar(app, "SELECT COUNT(*) FROM contents WHERE author_id = :u", u=uid) == 0
    assert (await client.get(f"/api/v1/contents/{item['id']}")).status_code == 404
    # The money records stay, pointing at the tombstone.
    assert await scalar(app, "SELECT user_id FROM payments WHERE id = :p", p=payment_id) == uid
    assert await scalar(app, "SELECT status FROM payments WHERE id = :p", p=payment_id) == (
        "succeeded"
    )
    assert await scalar(app, "SELECT COUNT(*) FROM ledger_entries") > 0
    # Nothing renews: the subscription is canceled at period end.
    assert await scalar(
        app, "SELECT cancel_at_period_end FROM subscriptions WHERE subscriber_id = :u", u=uid
    )
    # The address can be registered again, as a new account.
    r = await client.post(
        "/api/v1/auth/register", json={"email": reader.email, "password": PASSWORD}
    )
    assert r.status_code == 201
    assert r.json()["id"] != uid


async def test_a_deleted_creator_takes_no_new_subscribers(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    creator, reader, _ = await _paid_reader(client, app)
    r = await client.request(
        "DELETE", "/api/v1/me", json={"password": PASSWORD}, headers=creator.headers
    )
    assert r.status_code == 204, r.text
    assert (
        await scalar(
            app,
            "SELECT COUNT(*) FROM subscription_plans WHERE creator_id = :c AND is_active",
            c=creator.user_id,
        )
        == 0
    )
    assert await scalar(
        app,
        "SELECT cancel_at_period_end FROM subscriptions WHERE creator_id = :c",
        c=creator.user_id,
    )
    # The reader's account is untouched.
    assert (await client.get("/api/v1/me", headers=reader.headers)).status_code == 200


async def _statements(app: FastAPI, client: httpx.AsyncClient, who: Account) -> int:
    statements = 0

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        nonlocal statements
        if "job_outbox" not in statement:  # the outbox relay's polls are not the request's
            statements += 1

    engine = app_state(app).db.write_engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        r = await client.get("/api/v1/me/export", headers=who.headers)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert r.status_code == 200, r.text
    return statements


async def test_export_costs_the_same_statements_for_one_item_or_many(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    me = await signup(client)
    await published(client, me)
    one = await _statements(app, client, me)
    for _ in range(5):
        await published(client, me)
    assert await _statements(app, client, me) == one
    assert one <= 10, one
