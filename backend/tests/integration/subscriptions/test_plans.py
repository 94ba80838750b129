"""Plans: only their creator changes them; a price change is a new version and the old one is
archived, never deleted; existing subscribers keep their price."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from tests.integration.billing import checkout, make_plan
from tests.integration.helpers import signup

pytestmark = pytest.mark.integration


async def test_plan_versions_and_archive(client: httpx.AsyncClient, app: FastAPI) -> None:
    creator = await signup(client, "creator")
    reader = await signup(client, "reader")
    plan = await make_plan(client, creator, description="每月 monthly")
    assert (plan["status"], plan["price_amount"], plan["currency"]) == ("active", 1200, "CNY")
    url = f"/api/v1/plans/{plan['id']}"
    assert (await client.patch(url, json={"name": "x"}, headers=reader.headers)).status_code == 403
    bad = await client.post(
        "/api/v1/plans",
        json={"name": "x", "price_amount": 0, "interval": "week"},
        headers=creator.headers,
    )
    assert bad.status_code == 422
    old = await checkout(client, reader, plan["id"])

    renamed = await client.patch(url, json={"name": "新名字"}, headers=creator.headers)
    assert (renamed.json()["id"], renamed.json()["name"]) == (plan["id"], "新名字")

    # Two price changes at once: exactly one makes the next version.
    answers = await asyncio.gather(
        *(client.patch(url, json={"price_amount": 1500}, headers=creator.headers) for _ in range(5))
    )
    assert sorted(r.status_code for r in answers) == [200] + [409] * 4
    successor = next(r.json() for r in answers if r.status_code == 200)
    assert successor["id"] != plan["id"]
    assert (successor["previous_id"], successor["price_amount"], successor["name"]) == (
        plan["id"],
        1500,
        "新名字",
    )

    public = (await client.get(f"/api/v1/creators/{creator.user_id}/plans")).json()
    assert [p["id"] for p in public] == [successor["id"]]
    everything = (
        await client.get(f"/api/v1/creators/{creator.user_id}/plans?include_archived=true")
    ).json()
    assert [p["status"] for p in everything] == ["archived", "active"]

    # The archived version takes no new checkouts, but its subscriber keeps paying 1200.
    r = await client.post(
        "/api/v1/checkouts",
        json={"plan_id": plan["id"], "provider": "sandbox"},
        headers=reader.headers | {"Idempotency-Key": "k1"},
    )
    assert r.status_code == 409
    assert old["payment"]["amount"] == 1200

    archived = await client.post(
        f"/api/v1/plans/{successor['id']}/archive", headers=creator.headers
    )
    assert archived.json()["status"] == "archived"
    again = await client.post(f"/api/v1/plans/{successor['id']}/archive", headers=creator.headers)
    assert again.status_code == 200
    assert (await client.get(f"/api/v1/creators/{creator.user_id}/plans")).json() == []
    own = await client.post(
        "/api/v1/checkouts",
        json={"plan_id": successor["id"], "provider": "sandbox"},
        headers=creator.headers | {"Idempotency-Key": "k2"},
    )
    assert own.status_code == 409  # archived (and it is the creator's own)
