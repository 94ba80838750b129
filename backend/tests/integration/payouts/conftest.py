from __future__ import annotations

from datetime import timedelta
from itertools import count

import httpx
import pytest
from fastapi import FastAPI

from sharestack.db.base import utcnow
from sharestack.db.engine import Database
from sharestack.dependencies import app_state
from sharestack.ledger import earnings
from sharestack.ledger.invariants import check_invariants
from sharestack.ledger.rules import LedgerPolicy
from sharestack.payments.providers import references
from sharestack.sealing import Sealer
from tests.integration.helpers import Account
from tests.integration.ledger.conftest import in_tx

POLICY = LedgerPolicy(fee_bps=1000, hold_days=7, min_payout_amount=1000, release_batch=50)
_payment_ids = count(1)


@pytest.fixture
async def db(app: FastAPI, clean_tables: None) -> Database:
    return app_state(app).db


def sealer(db: Database) -> Sealer:
    """The sealer of the app under test (the same settings, so the same keys)."""
    return Sealer.from_config(db.settings.secret_key, db.settings.data_encryption_keys)


async def fund(db: Database, creator_id: int, gross: int, provider: str = "wechatpay") -> int:
    """A payment of ``gross`` to the creator, released at once: available = gross - 10 %."""
    payment_id = next(_payment_ids) + creator_id * 1000
    await in_tx(
        db,
        lambda s: earnings.record_payment(
            s,
            payment_id,
            creator_id,
            provider,
            "CNY",
            gross,
            policy=POLICY,
            external_reference=references.checkout_trade_no(payment_id),
        ),
    )
    await in_tx(
        db, lambda s: earnings.release_holds(s, utcnow() + timedelta(days=8), policy=POLICY)
    )
    return payment_id


async def no_violations(db: Database) -> None:
    async with db.write_sessionmaker() as session:
        assert await check_invariants(session) == []


async def payout_account(
    client: httpx.AsyncClient,
    who: Account,
    *,
    provider: str = "sandbox",
    identity_type: str = "sandbox",
    identity: str = "creator-account-1",
    real_name: str | None = "张三丰",
) -> int:
    body = {"provider": provider, "identity_type": identity_type, "identity": identity}
    if real_name is not None:
        body["real_name"] = real_name
    r = await client.post("/api/v1/me/payout-accounts", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    account_id: int = r.json()["id"]
    return account_id


async def balance(client: httpx.AsyncClient, who: Account) -> dict[str, int]:
    r = await client.get("/api/v1/me/balance", headers=who.headers)
    assert r.status_code == 200, r.text
    (cny,) = r.json()["balances"]
    return {k: cny[k] for k in ("pending", "available", "in_transit")}
