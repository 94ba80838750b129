"""The whole journey over HTTP, on the sandbox: a creator makes a plan, a reader checks out and
pays, the paywall opens for that reader only, the reader cancels, the period ends, the paywall
closes again."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from sharestack.dependencies import app_state
from sharestack.ledger import service as ledger_service
from sharestack.ledger.invariants import check_invariants
from tests.integration.billing import checkout, execute, inline_jobs, make_plan, sandbox_pay
from tests.integration.helpers import published, signup

pytestmark = pytest.mark.integration


async def test_subscribe_pay_read_cancel_expire(client: httpx.AsyncClient, app: FastAPI) -> None:
    creator = await signup(client, "creator")
    reader = await signup(client, "reader")
    other = await signup(client, "other")
    item = await published(client, creator, visibility="subscribers", body="付费正文 paid body")
    url = f"/api/v1/contents/{item['id']}"

    async def body_for(who: object) -> str | None:
        headers = getattr(who, "headers", {})
        r = await client.get(url, headers=headers)
        assert r.status_code == 200, r.text
        value: str | None = r.json()["body"]
        return value

    assert await body_for(reader) is None  # withheld (and the denial is now cached)
    plan = await make_plan(client, creator)
    listed = (await client.get(f"/api/v1/creators/{creator.user_id}/plans")).json()
    assert [p["id"] for p in listed] == [plan["id"]]

    async with inline_jobs(app) as jobs:
        done = await checkout(client, reader, plan["id"])
        payment = done["payment"]
        assert payment["status"] == "pending"
        assert payment["amount"] == 1200
        assert payment["currency"] == "CNY"
        assert done["action"]["kind"] == "qr_code"
        assert done["action"]["code_url"]
        assert await body_for(reader) is None

        await sandbox_pay(client, reader, payment["id"])
        await jobs.settle()

        r = await client.get(f"/api/v1/payments/{payment['id']}", headers=reader.headers)
        assert r.json()["status"] == "succeeded"
        assert (
            await client.get(f"/api/v1/payments/{payment['id']}", headers=other.headers)
        ).status_code == 404
        mine = (await client.get("/api/v1/me/subscriptions", headers=reader.headers)).json()
        assert [(s["status"], s["has_access"]) for s in mine] == [("active", True)]
        # The next read shows the body: no stale denial from the cache.
        assert await body_for(reader) == "付费正文 paid body"
        assert await body_for(other) is None
        assert await body_for(None) is None
        # The payment is in the creator's ledger: pending, less the 10 % platform fee.
        async with app_state(app).db.write_sessionmaker() as session:
            balance = await ledger_service.balances(session, creator.user_id)
            assert await check_invariants(session) == []
        assert (balance["CNY"].pending, balance["CNY"].available) == (1080, 0)

        subs = (await client.get("/api/v1/me/subscribers", headers=creator.headers)).json()
        assert [s["subscriber_id"] for s in subs["items"]] == [reader.user_id]
        pays = (await client.get("/api/v1/me/payments", headers=reader.headers)).json()
        assert [p["id"] for p in pays["items"]] == [payment["id"]]

        sub_id = mine[0]["id"]
        r = await client.post(f"/api/v1/subscriptions/{sub_id}/cancel", headers=reader.headers)
        assert r.status_code == 200
        assert r.json()["cancel_at_period_end"] is True
        r = await client.post(f"/api/v1/subscriptions/{sub_id}/resume", headers=reader.headers)
        assert r.json()["cancel_at_period_end"] is False
        r = await client.post(f"/api/v1/subscriptions/{sub_id}/cancel", headers=reader.headers)
        assert r.json()["status"] == "active"
        assert await body_for(reader) == "付费正文 paid body"  # until the period ends

        await execute(
            app,
            "UPDATE subscriptions SET current_period_end = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND "
            "WHERE id = :id",
            id=sub_id,
        )
        await jobs.run("end_subscription_periods")
        mine = (await client.get("/api/v1/me/subscriptions", headers=reader.headers)).json()
        assert mine[0]["status"] == "canceled"
        assert mine[0]["has_access"] is False
        assert await body_for(reader) is None
        r = await client.post(f"/api/v1/subscriptions/{sub_id}/resume", headers=reader.headers)
        assert r.status_code == 409

        # A new checkout after the end activates the same subscription again.
        again = await checkout(client, reader, plan["id"])
        await sandbox_pay(client, reader, again["payment"]["id"])
        await jobs.settle()
        assert await body_for(reader) == "付费正文 paid body"
