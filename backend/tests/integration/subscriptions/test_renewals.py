"""Renewals: many workers at once charge each due period exactly once; a failed charge goes
past_due with a retry inside the grace window, then expires; auto-renew is switched on by a
signed agreement."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from sharestack.dependencies import app_state
from sharestack.payments import renewals
from sharestack.payments.models import PaymentAgreement
from sharestack.payments.providers.sandbox import SandboxProvider
from sharestack.subscriptions.models import Subscription, SubscriptionPlan
from sharestack.users.models import User
from tests.integration.billing import checkout, execute, inline_jobs, make_plan, sandbox_pay, scalar
from tests.integration.helpers import signup

pytestmark = pytest.mark.integration


class CountingSandbox:
    """The sandbox, counting charges per order number."""

    def __init__(self, inner: SandboxProvider) -> None:
        self.inner = inner
        self.name = inner.name
        self.charges: Counter[str] = Counter()

    async def charge_agreement(
        self, agreement_no: str, out_trade_no: str, amount: int, **kw: Any
    ) -> Any:
        self.charges[out_trade_no] += 1
        return await self.inner.charge_agreement(agreement_no, out_trade_no, amount, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def _seed_due(app: FastAPI, readers: int, plans: int, signed: bool = True) -> list[int]:
    state = app_state(app)
    sandbox = state.payments["sandbox"]
    assert isinstance(sandbox, SandboxProvider)
    now = datetime.now(UTC)
    async with state.db.write_sessionmaker() as session:
        await session.execute(
            sa.insert(User),
            [
                {
                    "email": f"renew{i}-{now.timestamp()}@example.com",
                    "status": "active",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(readers + 1)
            ],
        )
        users = list(
            (
                await session.execute(
                    sa.select(User.id).order_by(User.id.desc()).limit(readers + 1)
                )
            ).scalars()
        )
        creator, subscribers = users[0], users[1:]
        await session.execute(
            sa.insert(SubscriptionPlan),
            [
                {
                    "creator_id": creator,
                    "name": f"plan {i}",
                    "description": "",
                    "price_amount": 990,
                    "currency": "CNY",
                    "interval": "month",
                    "is_active": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(plans)
            ],
        )
        plan_ids = list(
            (
                await session.execute(
                    sa.select(SubscriptionPlan.id).where(SubscriptionPlan.creator_id == creator)
                )
            ).scalars()
        )
        await session.execute(
            sa.insert(Subscription),
            [
                {
                    "subscriber_id": u,
                    "plan_id": p,
                    "creator_id": creator,
                    "status": "active",
                    "current_period_start": now - timedelta(days=29),
                    "current_period_end": now + timedelta(hours=12),
                    "cancel_at_period_end": False,
                    "auto_renew": True,
                    "period_number": 1,
                    "renewal_attempt": 0,
                    "renew_at": now - timedelta(minutes=1),
                    "created_at": now,
                    "updated_at": now,
                }
                for u in subscribers
                for p in plan_ids
            ],
        )
        subs = list(
            (
                await session.execute(
                    sa.select(Subscription.id).where(Subscription.creator_id == creator)
                )
            ).scalars()
        )
        await session.execute(
            sa.insert(PaymentAgreement),
            [
                {
                    "user_id": subscribers[0],
                    "subscription_id": s,
                    "provider": "sandbox",
                    "external_agreement_no": f"agx{s}",
                    "agreement_no": f"SBAX{s}",
                    "status": "signed",
                    "max_amount": 990,
                    "currency": "CNY",
                    "created_at": now,
                    "updated_at": now,
                }
                for s in subs
            ],
        )
        await session.commit()
    for s in subs:
        await sandbox._store.put_agreement(f"SBAX{s}", signed)
    return subs


async def test_four_workers_charge_each_of_1000_periods_once(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    state = app_state(app)
    subs = await _seed_due(app, readers=100, plans=10)
    assert len(subs) == 1000
    sandbox = state.payments["sandbox"]
    assert isinstance(sandbox, SandboxProvider)
    counting = CountingSandbox(sandbox)
    providers: dict[str, Any] = {"sandbox": counting}

    results = await asyncio.gather(
        *(renewals.charge_due(state.db, providers, state.settings, batch=50) for _ in range(4))
    )

    charged = sum(r.get("charged", 0) for r in results)
    assert charged == 1000, results
    assert len(counting.charges) == 1000
    assert set(counting.charges.values()) == {1}  # every period charged exactly once
    assert all(r.get("charged", 0) > 0 for r in results), results  # the work was shared
    assert (
        await scalar(
            app, "SELECT COUNT(*) FROM payments WHERE kind = 'renewal' AND status = 'succeeded'"
        )
        == 1000
    )
    assert (
        await scalar(
            app,
            "SELECT COUNT(*) FROM subscriptions "
            "WHERE period_number = 2 AND renew_at > UTC_TIMESTAMP()",
        )
        == 1000
    )
    assert (
        await scalar(app, "SELECT COUNT(*) FROM subscription_events WHERE event = 'extend'") == 1000
    )
    # Nothing is due any more: another round charges nothing.
    assert await renewals.charge_due(state.db, providers, state.settings) == {}
    shares = [r.get("charged", 0) for r in results]
    print(f"\nrenewals: 4 workers x 1000 due -> {charged} charges, per worker {shares}")


async def test_a_failed_renewal_goes_past_due_then_expires(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    state = app_state(app)
    subs = await _seed_due(app, readers=1, plans=1, signed=False)  # the reader withdrew it
    result = await renewals.charge_due(state.db, state.payments, state.settings)
    assert result == {"failed": 1}
    sub = subs[0]
    assert (
        await scalar(app, "SELECT status FROM subscriptions WHERE id = :id", id=sub) == "past_due"
    )
    grace = await scalar(app, "SELECT grace_ends_at FROM subscriptions WHERE id = :id", id=sub)
    retry = await scalar(app, "SELECT renew_at FROM subscriptions WHERE id = :id", id=sub)
    assert retry is not None
    assert retry < grace
    # The retry is not due yet; past the grace window the subscription expires.
    assert await renewals.charge_due(state.db, state.payments, state.settings) == {}
    async with inline_jobs(app) as jobs:
        await execute(
            app,
            "UPDATE subscriptions SET renew_at = NULL, "
            "grace_ends_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND WHERE id = :id",
            id=sub,
        )
        await jobs.run("end_subscription_periods")
    assert await scalar(app, "SELECT status FROM subscriptions WHERE id = :id", id=sub) == "expired"
    events = await scalar(
        app,
        "SELECT GROUP_CONCAT(event ORDER BY id) FROM subscription_events "
        "WHERE subscription_id = :id",
        id=sub,
    )
    assert events == "renewal_failed,expire"


async def test_auto_renew_through_a_signed_sandbox_agreement(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    creator = await signup(client, "creator")
    reader = await signup(client, "reader")
    plan = await make_plan(client, creator)
    async with inline_jobs(app) as jobs:
        done = await checkout(client, reader, plan["id"], auto_renew=True)
        agreement = done["agreement"]
        assert agreement["status"] == "pending"
        assert agreement["sign_url"].endswith("/sign")
        await sandbox_pay(client, reader, done["payment"]["id"])
        external = agreement["sign_url"].split("/")[-2]
        r = await client.post(
            f"/api/v1/sandbox/payments/agreements/{external}/sign", headers=reader.headers
        )
        assert r.status_code == 202, r.text
        await jobs.settle()
        mine = (await client.get("/api/v1/me/subscriptions", headers=reader.headers)).json()
        assert (mine[0]["status"], mine[0]["auto_renew"]) == ("active", True)
        sub_id = mine[0]["id"]
        # Make the renewal due now and charge it through the agreement.
        async with app_state(app).db.write_engine.begin() as conn:
            await conn.execute(
                sa.text("UPDATE subscriptions SET renew_at = UTC_TIMESTAMP(6) WHERE id = :id"),
                {"id": sub_id},
            )
        await jobs.run("charge_due_renewals")
        mine = (await client.get("/api/v1/me/subscriptions", headers=reader.headers)).json()
        pays = (await client.get("/api/v1/me/payments", headers=reader.headers)).json()["items"]
        assert [(p["kind"], p["status"]) for p in pays] == [
            ("renewal", "succeeded"),
            ("checkout", "succeeded"),
        ]
        assert pays[0]["out_trade_no"] == f"rn{sub_id}p2a1"
        first_end = datetime.fromisoformat(done["payment"]["created_at"])
        assert datetime.fromisoformat(mine[0]["current_period_end"]) > first_end + timedelta(
            days=55
        )
