"""The sending job's state machine on MariaDB, against the sandbox transfers (and a wrapper that
loses answers): settled, failed, never confirmed, and unclear answers that are queried before
anything is sent again. The ledger's invariants hold after each flow."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from sharestack.db.base import utcnow
from sharestack.db.engine import Database
from sharestack.payments.providers.base import ProviderUnavailable
from sharestack.payments.providers.sandbox_transfers import SandboxTransfers
from sharestack.payments.providers.transfers import TransferRequest, TransferState
from sharestack.payouts import sending
from sharestack.payouts.rules import PayoutPolicy
from tests.integration.helpers import Account, signup
from tests.integration.payouts.conftest import (
    balance,
    fund,
    no_violations,
    payout_account,
    sealer,
)

pytestmark = pytest.mark.integration

POLICY = PayoutPolicy(confirm_timeout=timedelta(hours=2))


class Flaky(SandboxTransfers):
    """Sandbox transfers whose answers can be lost: ``arrive_then_timeout`` makes the next
    transfer happen but its answer time out; ``lose_next`` drops the next request before it
    arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: dict[str, int] = {"transfer": 0, "query_transfer": 0, "cancel_transfer": 0}
        self.arrive_then_timeout = 0
        self.lose_next = 0

    async def transfer(self, request: TransferRequest) -> TransferState:
        self.calls["transfer"] += 1
        if self.lose_next:
            self.lose_next -= 1
            raise ProviderUnavailable("sandbox: timed out before it arrived")
        state = await super().transfer(request)
        if self.arrive_then_timeout:
            self.arrive_then_timeout -= 1
            raise ProviderUnavailable("sandbox: timed out after it arrived")
        return state

    async def query_transfer(self, transfer_no: str) -> TransferState:
        self.calls["query_transfer"] += 1
        return await super().query_transfer(transfer_no)

    async def cancel_transfer(self, transfer_no: str) -> TransferState:
        self.calls["cancel_transfer"] += 1
        return await super().cancel_transfer(transfer_no)


async def _payout(client: httpx.AsyncClient, db: Database, identity: str) -> tuple[Account, int]:
    creator = await signup(client, "creator")
    account_id = await payout_account(client, creator, identity=identity)
    await fund(db, creator.user_id, 10_000)  # 9_000 available
    r = await client.post(
        "/api/v1/payouts",
        json={"payout_account_id": account_id, "amount": 4_000},
        headers={**creator.headers, "Idempotency-Key": "send"},
    )
    assert r.status_code == 201, r.text
    payout_id: int = r.json()["id"]
    return creator, payout_id


async def _row(db: Database, payout_id: int) -> dict[str, Any]:
    async with db.write_engine.connect() as conn:
        row = await conn.execute(sa.text("SELECT * FROM payouts WHERE id = :id"), {"id": payout_id})
        return dict(row.mappings().one())


async def _run(db: Database, provider: Flaky, at: datetime) -> sending.SendReport:
    return await sending.send_due(db, {"sandbox": provider}, POLICY, sealer(db), now=at)


async def test_success_settles(client: httpx.AsyncClient, db: Database) -> None:
    creator, payout_id = await _payout(client, db, "payee-1")
    provider = Flaky()
    report = await _run(db, provider, utcnow())
    assert (report.claimed, report.paid) == (1, 1)
    row = await _row(db, payout_id)
    assert (row["status"], row["provider_status"], row["next_attempt_at"]) == (
        "paid",
        "SUCCESS",
        None,
    )
    assert await balance(client, creator) == {"pending": 0, "available": 5_000, "in_transit": 0}
    assert (await _run(db, provider, utcnow() + timedelta(hours=1))).claimed == 0
    await no_violations(db)


async def test_failure_reverses(client: httpx.AsyncClient, db: Database) -> None:
    creator, payout_id = await _payout(client, db, "fail-wrong-account")
    report = await _run(db, Flaky(), utcnow())
    assert report.reversed == 1
    assert (await _row(db, payout_id))["status"] == "failed"
    assert await balance(client, creator) == {"pending": 0, "available": 9_000, "in_transit": 0}
    r = await client.get(f"/api/v1/payouts/{payout_id}", headers=creator.headers)
    assert r.json()["status"] == "failed"
    await no_violations(db)


async def test_a_payee_who_never_confirms_is_cancelled_and_reversed(
    client: httpx.AsyncClient, db: Database
) -> None:
    creator, payout_id = await _payout(client, db, "confirm-never")
    provider, start = Flaky(), utcnow()
    assert (await _run(db, provider, start)).waiting == 1
    r = await client.get(f"/api/v1/payouts/{payout_id}", headers=creator.headers)
    shown = r.json()
    assert shown["status"] == "in_transit"
    assert shown["awaiting_confirmation"] is True
    assert shown["package_info"].startswith("sandbox-confirm:")
    # Looked at again before the deadline: still waiting, nothing cancelled.
    assert (await _run(db, provider, start + timedelta(hours=1))).waiting == 1
    assert provider.calls["cancel_transfer"] == 0
    report = await _run(db, provider, start + timedelta(hours=2, seconds=1))
    assert report.reversed == 1
    assert provider.calls["cancel_transfer"] == 1
    row = await _row(db, payout_id)
    assert (row["status"], row["provider_status"], row["package_info"]) == (
        "cancelled",
        "CANCELLED",
        None,
    )
    assert await balance(client, creator) == {"pending": 0, "available": 9_000, "in_transit": 0}
    await no_violations(db)


async def test_a_timeout_is_queried_not_sent_again(client: httpx.AsyncClient, db: Database) -> None:
    creator, payout_id = await _payout(client, db, "payee-2")
    provider, start = Flaky(), utcnow()
    provider.arrive_then_timeout = 1
    assert (await _run(db, provider, start)).unclear == 1
    row = await _row(db, payout_id)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["next_attempt_at"] is not None
    # Not due yet: the retry waits 30 s.
    assert (await _run(db, provider, start + timedelta(seconds=5))).claimed == 0
    assert (await _run(db, provider, start + timedelta(minutes=1))).paid == 1
    assert provider.calls == {"transfer": 1, "query_transfer": 1, "cancel_transfer": 0}
    assert await balance(client, creator) == {"pending": 0, "available": 5_000, "in_transit": 0}
    await no_violations(db)


async def test_a_request_that_never_arrived_is_sent_again_with_the_same_number(
    client: httpx.AsyncClient, db: Database
) -> None:
    _, payout_id = await _payout(client, db, "payee-3")
    provider, start = Flaky(), utcnow()
    provider.lose_next = 1
    assert (await _run(db, provider, start)).unclear == 1
    assert (await _run(db, provider, start + timedelta(minutes=1))).paid == 1
    # Queried first ("no such transfer"), then sent: one transfer at the provider.
    assert provider.calls["query_transfer"] == 1
    assert provider.calls["transfer"] == 2
    assert len(provider._transfers) == 1
    assert (await _row(db, payout_id))["status"] == "paid"
    await no_violations(db)
