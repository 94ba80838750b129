"""Concurrent transactions on MariaDB: ordered locks, no overdraft, one journal per key."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from sharestack.db.base import utcnow
from sharestack.db.engine import Database
from sharestack.ledger import earnings, payouts, posting, rules, service
from sharestack.ledger.exceptions import InsufficientFunds
from sharestack.ledger.invariants import check_invariants
from tests.integration.ledger.conftest import POLICY, count, in_tx

pytestmark = pytest.mark.integration

CREATOR = 601
N = 20


async def no_violations(db: Database) -> None:
    async with db.write_sessionmaker() as session:
        assert await check_invariants(session) == []


async def test_concurrent_payout_requests_never_move_more_than_available(db: Database) -> None:
    await in_tx(
        db,
        lambda s: earnings.record_payment(s, 1, CREATOR, "alipay", "CNY", 11_667, policy=POLICY),
    )
    await in_tx(
        db, lambda s: earnings.release_holds(s, utcnow() + timedelta(days=8), policy=POLICY)
    )
    # 11_667 - 1_166 fee = 10_501 available: room for ten payouts of 1_000.

    async def request(payout_id: int) -> str:
        try:
            await in_tx(
                db,
                lambda s: payouts.request_payout(
                    s, CREATOR, "CNY", 1_000, payout_id, policy=POLICY
                ),
            )
        except InsufficientFunds:
            return "refused"
        return "ok"

    outcomes = await asyncio.gather(*(request(i) for i in range(1, N + 1)))
    assert outcomes.count("ok") == 10
    assert outcomes.count("refused") == 10
    async with db.write_sessionmaker() as session:
        assert (await service.balances(session, CREATOR))["CNY"].model_dump() == {
            "pending": 0,
            "available": 501,
            "in_transit": 10_000,
        }
    await no_violations(db)


@pytest.mark.parametrize("accounts_exist", [True, False], ids=["existing", "new-accounts"])
async def test_concurrent_postings_of_one_key_make_one_journal(
    db: Database, accounts_exist: bool
) -> None:
    if accounts_exist:
        await in_tx(
            db,
            lambda s: earnings.record_payment(s, 1, CREATOR, "alipay", "CNY", 100, policy=POLICY),
        )

    async def post() -> posting.Journal:
        return await in_tx(
            db,
            lambda s: earnings.record_payment(
                s, 2, CREATOR + 1, "wechat", "CNY", 5_000, 30, policy=POLICY
            ),
        )

    journals = await asyncio.gather(*(post() for _ in range(N)))
    assert len({j.id for j in journals}) == 1
    assert sum(j.created for j in journals) == 1
    assert all(len(j.transfers) == 3 for j in journals)
    assert await count(db, "ledger_journals") == (2 if accounts_exist else 1)
    await no_violations(db)


async def test_postings_over_two_accounts_in_opposite_orders_do_not_deadlock(
    db: Database,
) -> None:
    a, b = rules.clearing("alipay", "CNY"), rules.clearing("wechat", "CNY")
    await in_tx(db, lambda s: posting.lock_accounts(s, {a, b}))  # both exist

    async def move(i: int) -> None:
        debit, credit = (a, b) if i % 2 else (b, a)
        leg = rules.Leg("reversal", debit, credit, 1 + i)

        async def work(s: object) -> None:
            await posting.post_journal(
                s,  # type: ignore[arg-type]
                [leg],
                key=f"swap:{i}",
                kind="reversal",
                reference_type="test",
                reference_id=i,
            )
            await asyncio.sleep(0.01)  # hold the locks while the others queue

        await in_tx(db, work)

    started = time.perf_counter()
    await asyncio.gather(*(move(i) for i in range(N)))  # a deadlock would raise here
    assert time.perf_counter() - started < 20
    assert await count(db, "ledger_journals") == N
    await no_violations(db)


async def test_concurrent_hold_sweeps_release_each_payment_once(db: Database) -> None:
    for payment_id in range(1, 31):
        creator = CREATOR + payment_id % 3

        async def pay(s: object, p: int = payment_id, c: int = creator) -> None:
            await earnings.record_payment(s, p, c, "alipay", "CNY", 1_000, policy=POLICY)  # type: ignore[arg-type]

        await in_tx(db, pay)
    small = rules.LedgerPolicy(fee_bps=1000, hold_days=7, release_batch=7)

    async def sweep() -> int:
        created = 0
        while True:
            journals = await in_tx(
                db,
                lambda s: earnings.release_holds(s, utcnow() + timedelta(days=8), policy=small),
            )
            created += sum(j.created for j in journals)
            if not journals:
                return created

    assert sum(await asyncio.gather(*(sweep() for _ in range(4)))) == 30
    assert await count(db, "ledger_journals") == 60
    await no_violations(db)


async def test_first_payments_of_a_new_creator_at_once_create_each_account_once(
    db: Database,
) -> None:
    # Different journals, all needing the same accounts that do not exist yet.
    async def pay(payment_id: int) -> posting.Journal:
        return await in_tx(
            db,
            lambda s: earnings.record_payment(
                s, payment_id, CREATOR, "alipay", "USD", 1_000, 10, policy=POLICY
            ),
        )

    journals = await asyncio.gather(*(pay(i) for i in range(1, N + 1)))
    assert all(j.created for j in journals)
    assert await count(db, "ledger_accounts") == 4
    async with db.write_sessionmaker() as session:
        assert (await service.balances(session, CREATOR))["USD"].pending == N * 900
    await no_violations(db)
