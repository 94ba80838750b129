"""Notifications: forged, expired, replayed and amount-mismatched ones change nothing; any
sequence of duplicate, reordered and late ones ends in the provider's state with exactly one
change per real transition."""

from __future__ import annotations

import random
import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sharestack.dependencies import app_state
from sharestack.payments.providers.base import Order
from sharestack.payments.providers.sandbox import SandboxProvider, SignedRequest
from tests.integration.billing import (
    InlineJobs,
    checkout,
    inline_jobs,
    make_plan,
    sandbox_pay,
    scalar,
)
from tests.integration.helpers import Account, signup

pytestmark = pytest.mark.integration


def _sandbox(app: FastAPI) -> SandboxProvider:
    provider = app_state(app).payments["sandbox"]
    assert isinstance(provider, SandboxProvider)
    return provider


def _secret(app: FastAPI) -> str:
    secret = app_state(app).settings.sandbox_payments_secret
    assert secret
    return secret


async def _post(client: httpx.AsyncClient, signed: SignedRequest) -> httpx.Response:
    return await client.post(
        "/api/v1/webhooks/sandbox", content=signed.body, headers=signed.headers
    )


async def _order(app: FastAPI, out_trade_no: str) -> Order:
    placed = await _sandbox(app)._store.get_placed(out_trade_no)
    assert placed is not None
    return placed


async def _state(app: FastAPI, payment_id: int) -> tuple[str, int, int]:
    status = await scalar(app, "SELECT status FROM payments WHERE id = :id", id=payment_id)
    sub = await scalar(app, "SELECT subscription_id FROM payments WHERE id = :id", id=payment_id)
    events = await scalar(
        app, "SELECT COUNT(*) FROM subscription_events WHERE subscription_id = :id", id=sub
    )
    stored = await scalar(app, "SELECT COUNT(*) FROM provider_events")
    return status, events, stored


async def test_forged_expired_replayed_and_mismatched_change_nothing(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    creator = await signup(client, "creator")
    reader = await signup(client, "reader")
    plan = await make_plan(client, creator)
    async with inline_jobs(app) as jobs:
        done = await checkout(client, reader, plan["id"])
        payment = done["payment"]
        order = await _order(app, payment["out_trade_no"])
        genuine = _sandbox(app).make_notification(order, "succeeded")
        before = await _state(app, payment["id"])
        assert before == ("pending", 0, 0)

        forged = SignedRequest(genuine.url, genuine.headers, genuine.body.replace(b"1200", b"1"))
        wrong_key = SandboxProvider("not-our-secret").make_notification(order, "succeeded")
        stale = SandboxProvider(_secret(app), clock=lambda: time.time() - 3600)
        expired = stale.make_notification(order, "succeeded")
        cheaper = Order(order.out_trade_no, 1, order.description, order.notify_url, order.scene)
        mismatched = SandboxProvider(_secret(app)).make_notification(cheaper, "succeeded")
        for refused in (forged, wrong_key, expired, mismatched):
            r = await _post(client, refused)
            assert r.status_code == 500, r.text
            assert r.json() == {"ok": False}
        unknown = SandboxProvider(_secret(app)).make_notification(
            Order("ck999999999999", 1200, "x", order.notify_url, "native"), "succeeded"
        )
        assert (await _post(client, unknown)).status_code == 500
        await jobs.settle()
        assert await _state(app, payment["id"]) == before

        # The order is really paid: the genuine notification is applied once; a replay of the
        # very same request is acknowledged as a duplicate and changes nothing.
        await sandbox_pay(client, reader, payment["id"])
        await jobs.settle()
        after = await _state(app, payment["id"])
        assert after == ("succeeded", 1, 1)
        for _ in range(3):
            r = await _post(client, genuine)
            assert r.status_code == 200
        await jobs.settle()
        assert await _state(app, payment["id"]) == after
    metrics = (await client.get("/metrics")).text
    assert (
        'sharestack_payment_notifications_rejected_total{provider="sandbox",reason="amount_mismatch"}'
        in metrics
    )
    assert (
        'sharestack_payment_notifications_rejected_total{provider="sandbox",reason="expired"}'
        in metrics
    )


@pytest.fixture
async def market(client: httpx.AsyncClient, app: FastAPI) -> dict[str, Any]:
    creator = await signup(client, "creator")
    return {"creator": creator, "plan": await make_plan(client, creator)}


async def _one_example(
    client: httpx.AsyncClient,
    app: FastAPI,
    jobs: InlineJobs,
    market: dict[str, Any],
    seed: int,
    copies: int,
    settle_between: bool,
) -> None:
    sandbox = _sandbox(app)
    reader: Account = await signup(client, "reader")
    paid = await checkout(client, reader, market["plan"]["id"])
    other_plan = await make_plan(client, market["creator"], name="另一个", price_amount=900)
    failed = await checkout(client, reader, other_plan["id"])
    paid_order = await _order(app, paid["payment"]["out_trade_no"])
    failed_order = await _order(app, failed["payment"]["out_trade_no"])
    # What the provider did: one payment succeeded, one failed.
    await sandbox.pay(paid_order.out_trade_no, "succeeded")
    await sandbox.pay(failed_order.out_trade_no, "failed")
    # What it says about it: duplicates of the real events, plus late contradicting ones.
    deliveries = [sandbox.make_notification(paid_order, "succeeded") for _ in range(copies)]
    deliveries += [sandbox.make_notification(failed_order, "failed") for _ in range(copies)]
    deliveries.append(sandbox.make_notification(paid_order, "failed"))
    deliveries.append(sandbox.make_notification(failed_order, "succeeded"))
    random.Random(seed).shuffle(deliveries)
    for index, signed in enumerate(deliveries):
        assert (await _post(client, signed)).status_code == 200
        if settle_between and index % 2:
            await jobs.settle()
    await jobs.settle()
    assert await _state(app, paid["payment"]["id"]) == (
        "succeeded",
        1,
        await scalar(app, "SELECT COUNT(*) FROM provider_events"),
    )
    status, events, _ = await _state(app, failed["payment"]["id"])
    assert (status, events) == ("failed", 0)
    activations = await scalar(
        app,
        "SELECT COUNT(*) FROM subscription_events WHERE payment_id = :id AND event = 'activate'",
        id=paid["payment"]["id"],
    )
    assert activations == 1


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    copies=st.integers(min_value=1, max_value=3),
    settle_between=st.booleans(),
)
async def test_any_order_of_notifications_ends_in_the_providers_state(
    client: httpx.AsyncClient,
    app: FastAPI,
    market: dict[str, Any],
    seed: int,
    copies: int,
    settle_between: bool,
) -> None:
    async with inline_jobs(app) as jobs:
        await _one_example(client, app, jobs, market, seed, copies, settle_between)
