"""The payouts API on MariaDB: accounts (masked), payouts and their errors, pages, balance,
ledger and the monthly statement."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
import sqlalchemy as sa

from sharestack.db.base import utcnow
from sharestack.db.engine import Database
from sharestack.payments.providers._common import CHINA_TZ
from tests.integration.helpers import signup
from tests.integration.payouts.conftest import balance, fund, no_violations, payout_account, sealer

pytestmark = pytest.mark.integration


async def test_payout_accounts_never_show_the_real_name(
    client: httpx.AsyncClient, db: Database
) -> None:
    creator = await signup(client, "creator")
    r = await client.post(
        "/api/v1/me/payout-accounts",
        json={
            "provider": "alipay",
            "identity_type": "alipay_logon_id",
            "identity": "creator@example.com",
            "real_name": "张三丰",
        },
        headers=creator.headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["real_name"] == "张**"
    assert r.json()["identity"] == "cr*****@example.com"
    listed = await client.get("/api/v1/me/payout-accounts", headers=creator.headers)
    assert "张三丰" not in listed.text
    assert "creator@example.com" not in listed.text
    # Nor does the database: the name is sealed, bound to its creator.
    async with db.write_engine.connect() as conn:
        stored = (
            await conn.execute(
                sa.text("SELECT real_name_sealed, real_name_masked FROM payout_accounts")
            )
        ).one()
    assert "张三丰" not in stored[0]
    assert stored[1] == "张**"
    assert sealer(db).open(stored[0], context=f"payout_accounts.real_name:{creator.user_id}") == (
        "张三丰"
    )

    # An Alipay logon id needs the name; WeChat Pay takes openids only.
    for body in (
        {"provider": "alipay", "identity_type": "alipay_logon_id", "identity": "a@b.cn"},
        {"provider": "wechatpay", "identity_type": "alipay_user_id", "identity": "2088"},
    ):
        r = await client.post("/api/v1/me/payout-accounts", json=body, headers=creator.headers)
        assert r.status_code == 422, r.text


async def test_payout_errors(client: httpx.AsyncClient, db: Database) -> None:
    creator, other = await signup(client, "creator"), await signup(client, "other")
    account_id = await payout_account(client, creator)
    others = await payout_account(client, other, identity="other-account")
    await fund(db, creator.user_id, 10_000)  # 9_000 available

    async def post(body: dict[str, object], key: str | None = "k1") -> httpx.Response:
        headers = dict(creator.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        return await client.post("/api/v1/payouts", json=body, headers=headers)

    ok = {"payout_account_id": account_id, "amount": 2_000}
    missing = await post(ok, key=None)
    assert (missing.status_code, missing.json()["error"]["code"]) == (422, "validation_error")
    assert "Idempotency-Key" in missing.text
    r = await post({"payout_account_id": others, "amount": 2_000})
    assert (r.status_code, r.json()["error"]["code"]) == (404, "payout_account_not_found")
    r = await post({"payout_account_id": account_id, "amount": 999})
    assert (r.status_code, r.json()["error"]["code"]) == (422, "payout_below_minimum")
    r = await post({"payout_account_id": account_id, "amount": 9_001})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "insufficient_funds")

    r = await post(ok)
    assert r.status_code == 201, r.text
    payout = r.json()
    assert payout["status"] == "pending"
    assert payout["amount"] == 2_000
    r = await post({**ok, "amount": 3_000})  # same key, other body
    assert (r.status_code, r.json()["error"]["code"]) == (409, "idempotency_key_reused")

    # The daily limit (5 a day by default) answers 429 with Retry-After.
    for i in range(4):
        assert (await post({**ok, "amount": 1_000}, key=f"more-{i}")).status_code == 201
    r = await post({**ok, "amount": 1_000}, key="sixth")
    assert (r.status_code, r.json()["error"]["code"]) == (429, "payout_daily_limit")
    assert int(r.headers["Retry-After"]) > 0

    assert await balance(client, creator) == {"pending": 0, "available": 3_000, "in_transit": 6_000}
    await no_violations(db)


async def test_pages_of_payouts_and_ledger_entries(client: httpx.AsyncClient, db: Database) -> None:
    creator = await signup(client, "creator")
    account_id = await payout_account(client, creator)
    await fund(db, creator.user_id, 100_000)
    for i in range(5):
        r = await client.post(
            "/api/v1/payouts",
            json={"payout_account_id": account_id, "amount": 1_000 + i},
            headers={**creator.headers, "Idempotency-Key": f"page-{i}"},
        )
        assert r.status_code == 201, r.text
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        r = await client.get("/api/v1/payouts", params=params, headers=creator.headers)
        assert r.status_code == 200, r.text
        seen += [p["amount"] for p in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [1_004, 1_003, 1_002, 1_001, 1_000]
    r = await client.get("/api/v1/payouts", params={"cursor": "forged"}, headers=creator.headers)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_cursor")

    r = await client.get("/api/v1/me/ledger", params={"limit": 3}, headers=creator.headers)
    assert r.status_code == 200
    assert len(r.json()["items"]) == 3
    assert r.json()["next_cursor"]
    other = await signup(client, "other")
    r = await client.get("/api/v1/payouts", headers=other.headers)
    assert r.json() == {"items": [], "next_cursor": None}


async def test_monthly_statement_csv(client: httpx.AsyncClient, db: Database) -> None:
    creator = await signup(client, "creator")
    account_id = await payout_account(client, creator)
    await fund(db, creator.user_id, 12_345)  # +123.45, fee -12.34 (floor of 1 234.5 fen)
    r = await client.post(
        "/api/v1/payouts",
        json={"payout_account_id": account_id, "amount": 5_000},
        headers={**creator.headers, "Idempotency-Key": "statement"},
    )
    assert r.status_code == 201
    month = utcnow().astimezone(CHINA_TZ).strftime("%Y-%m")
    r = await client.get(f"/api/v1/me/statements/{month}.csv", headers=creator.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["date", "kind", "reference", "amount", "balance"]
    body = [row[1:] for row in rows[1:]]
    payment = body[1][1]
    assert body == [
        ["opening_balance", "", "", "0.00"],
        ["payment", payment, "123.45", "123.45"],
        ["platform_fee", payment, "-12.34", "111.11"],
        # The payout request only moves money within the creator's balance: not listed.
        ["closing_balance", "", "", "111.11"],
    ]
    r = await client.get("/api/v1/me/statements/2026-13.csv", headers=creator.headers)
    assert r.status_code == 422
    r = await client.get("/api/v1/me/statements/2020-01.csv", headers=creator.headers)
    assert list(csv.reader(io.StringIO(r.text)))[1][1:] == ["opening_balance", "", "", "0.00"]


async def test_routes_need_a_caller(client: httpx.AsyncClient) -> None:
    for path in ("/api/v1/me/balance", "/api/v1/me/ledger", "/api/v1/payouts"):
        assert (await client.get(path)).status_code == 401
    schema = (await client.get("/openapi.json")).json()
    post = schema["paths"]["/api/v1/payouts"]["post"]
    assert {"401", "404", "409", "422", "429"} <= set(post["responses"])
