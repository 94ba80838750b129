"""Refunds: by the paid creator only, partial ones add up, and concurrent ones never exceed the
payment."""

from __future__ import annotations

import asyncio
import secrets

import httpx
import pytest
from fastapi import FastAPI

from tests.integration.billing import checkout, inline_jobs, key, make_plan, sandbox_pay, scalar
from tests.integration.helpers import signup

pytestmark = pytest.mark.integration


async def test_concurrent_partial_refunds_never_exceed_the_payment(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    creator = await signup(client, "creator")
    reader = await signup(client, "reader")
    plan = await make_plan(client, creator, price_amount=1000)
    async with inline_jobs(app) as jobs:
        done = await checkout(client, reader, plan["id"])
        payment_id = done["payment"]["id"]
        url = f"/api/v1/payments/{payment_id}/refunds"
        early = await client.post(url, json={"amount": 100}, headers=creator.headers | key())
        assert early.status_code == 409  # not paid yet
        await sandbox_pay(client, reader, payment_id)
        await jobs.settle()

        assert (await client.post(url, json={}, headers=reader.headers | key())).status_code == 403
        outsider = await signup(client, "outsider")
        assert (
            await client.post(url, json={}, headers=outsider.headers | key())
        ).status_code == 404

        answers = await asyncio.gather(
            *(
                client.post(url, json={"amount": 150}, headers=creator.headers | key())
                for _ in range(20)
            )
        )
        codes = sorted(r.status_code for r in answers)
        assert codes == [201] * 6 + [409] * 14, [r.text for r in answers if r.status_code >= 500]
        assert all(r.json()["status"] == "succeeded" for r in answers if r.status_code == 201)
        refunded = await scalar(
            app, "SELECT refunded_amount FROM payments WHERE id = :id", id=payment_id
        )
        total = await scalar(
            app,
            "SELECT SUM(amount) FROM refunds WHERE payment_id = :id AND status = 'succeeded'",
            id=payment_id,
        )
        assert refunded == total == 900
        # The rest, with a retry of the same request replaying it.
        headers = creator.headers | {"Idempotency-Key": secrets.token_hex(8)}
        rest = await client.post(url, json={"reason": "退款"}, headers=headers)
        assert rest.status_code == 201
        assert rest.json()["amount"] == 100
        replay = await client.post(url, json={"reason": "退款"}, headers=headers)
        assert (replay.status_code, replay.content) == (201, rest.content)
        more = await client.post(url, json={"amount": 1}, headers=creator.headers | key())
        assert more.json()["error"]["code"] == "refund_exceeds_payment"
        listed = await client.get(url, headers=reader.headers)
        assert sum(r["amount"] for r in listed.json()) == 1000
        payment = (
            await client.get(f"/api/v1/payments/{payment_id}", headers=reader.headers)
        ).json()
        assert (payment["status"], payment["refunded_amount"]) == ("succeeded", 1000)
