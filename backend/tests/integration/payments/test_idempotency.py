"""Money-moving calls are idempotent: retries replay, concurrent twins do the work once, a key
reused with another body is refused."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from tests.integration.billing import make_plan, scalar
from tests.integration.helpers import signup

pytestmark = pytest.mark.integration


async def test_fifty_concurrent_checkouts_with_one_key_make_one_payment(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    creator = await signup(client, "creator")
    reader = await signup(client, "reader")
    plan = await make_plan(client, creator)
    headers = reader.headers | {"Idempotency-Key": "checkout-race-1"}
    body = {"plan_id": plan["id"], "provider": "sandbox"}

    answers = await asyncio.gather(
        *(client.post("/api/v1/checkouts", json=body, headers=headers) for _ in range(50))
    )

    assert {r.status_code for r in answers} == {201}, [
        r.text for r in answers if r.status_code != 201
    ]
    assert len({r.content for r in answers}) == 1  # 50 identical bodies
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in answers) == 49
    assert await scalar(app, "SELECT COUNT(*) FROM payments") == 1
    assert await scalar(app, "SELECT COUNT(*) FROM idempotency_records") == 1

    # A later retry replays too; the same key with another body is refused.
    again = await client.post("/api/v1/checkouts", json=body, headers=headers)
    assert (again.status_code, again.content) == (201, answers[0].content)
    other = await client.post("/api/v1/checkouts", json=body | {"scene": "page"}, headers=headers)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    # Keys belong to their caller: another reader's same key is another checkout.
    stranger = await signup(client, "stranger")
    theirs = await client.post(
        "/api/v1/checkouts",
        json=body,
        headers=stranger.headers | {"Idempotency-Key": "checkout-race-1"},
    )
    assert theirs.status_code == 201
    assert theirs.json()["payment"]["id"] != answers[0].json()["payment"]["id"]


async def test_a_failed_checkout_releases_its_key(client: httpx.AsyncClient, app: FastAPI) -> None:
    reader = await signup(client, "reader")
    headers = reader.headers | {"Idempotency-Key": "missing-plan"}
    r = await client.post(
        "/api/v1/checkouts", json={"plan_id": 10**12, "provider": "sandbox"}, headers=headers
    )
    assert r.status_code == 404
    assert await scalar(app, "SELECT COUNT(*) FROM idempotency_records") == 0
    missing = await client.post(
        "/api/v1/checkouts", json={"plan_id": 1, "provider": "sandbox"}, headers=reader.headers
    )
    assert missing.status_code == 422  # the header is required
    unknown = await client.post(
        "/api/v1/checkouts",
        json={"plan_id": 1, "provider": "wechatpay", "auto_renew": True},
        headers=headers,
    )
    assert unknown.status_code == 422
