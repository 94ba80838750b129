"""20 payout requests of one creator at once, over HTTP on MariaDB: never more than available,
one payout per Idempotency-Key, identical answers for a key, and never a 500."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import sqlalchemy as sa

from sharestack.db.engine import Database
from tests.integration.helpers import signup
from tests.integration.payouts.conftest import balance, fund, no_violations, payout_account

pytestmark = pytest.mark.integration

N = 20
AMOUNT = 3_000


async def test_twenty_concurrent_requests_never_pay_out_more_than_available(
    client: httpx.AsyncClient, db: Database
) -> None:
    creator = await signup(client, "creator")
    account_id = await payout_account(client, creator)
    await fund(db, creator.user_id, 11_667)  # 11_667 - 1_166 fee = 10_501 available
    assert (await balance(client, creator))["available"] == 10_501

    # Half share one key, the other half have one key each.
    keys = ["same-key"] * (N // 2) + [f"key-{i}" for i in range(N // 2)]
    body = {"payout_account_id": account_id, "amount": AMOUNT}

    async def request(key: str) -> httpx.Response:
        return await client.post(
            "/api/v1/payouts", json=body, headers={**creator.headers, "Idempotency-Key": key}
        )

    responses = await asyncio.gather(*(request(k) for k in keys))
    statuses = [r.status_code for r in responses]
    # Never a 500 (nor a 503 from a deadlock): a payout or a refusal, nothing else.
    assert set(statuses) <= {201, 409}, [r.text for r in responses]

    same = [r for r, k in zip(responses, keys, strict=True) if k == "same-key"]
    assert len({(r.status_code, r.content) for r in same}) == 1, "one key, one answer"

    created = {r.json()["id"] for r in responses if r.status_code == 201}
    # 10_501 available: room for three payouts of 3_000, whatever the order.
    assert len(created) == 3
    assert sum(1 for r in responses if r.status_code == 201) == len(created) + (
        len(same) - 1 if same[0].status_code == 201 else 0
    )
    refused = [r.json()["error"]["code"] for r in responses if r.status_code == 409]
    assert set(refused) <= {"insufficient_funds"}

    money = await balance(client, creator)
    assert money == {"pending": 0, "available": 10_501 - 9_000, "in_transit": 9_000}
    async with db.write_engine.connect() as conn:
        rows = (await conn.execute(sa.text("SELECT COUNT(*), SUM(amount) FROM payouts"))).one()
    assert tuple(rows) == (3, 9_000)
    await no_violations(db)

    # A repeat of any successful key later still answers the same, and pays nothing more.
    first = next(r for r in responses if r.status_code == 201)
    key = keys[responses.index(first)]
    again = await request(key)
    assert (again.status_code, again.content) == (201, first.content)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (await balance(client, creator))["in_transit"] == 9_000
