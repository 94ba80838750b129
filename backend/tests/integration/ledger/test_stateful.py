"""Random sequences of payments, refunds, hold releases and payouts against MariaDB, checked after
every step against the invariants and against a plain Python model of the flows.

Hypothesis drives the machine synchronously, so it runs in a worker thread with its own event
loop and its own engine; the test's loop only awaits the thread.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from sharestack.config import Settings
from sharestack.db.after_commit import write_transaction
from sharestack.db.engine import Database
from sharestack.db.session import WriteSession
from sharestack.ledger import earnings, payouts, service
from sharestack.ledger.exceptions import (
    InsufficientFunds,
    PayoutAlreadyReversed,
    PayoutAlreadySettled,
    PayoutBelowMinimum,
    RefundExceedsPayment,
)
from sharestack.ledger.invariants import check_invariants
from sharestack.ledger.rules import LedgerPolicy

pytestmark = pytest.mark.integration

T = TypeVar("T")
# An odd fee rate, so that rounding matters in most payments.
POLICY = LedgerPolicy(fee_bps=1234, hold_days=7, min_payout_amount=500, release_batch=4)
HOLD = timedelta(days=POLICY.hold_days)
CREATORS = (11, 12)
CURRENCIES = ("CNY", "USD")
LEDGER_TABLES = ("ledger_entries", "ledger_transfers", "ledger_journals", "ledger_accounts")
ids = itertools.count(1)


class Loop:
    """An event loop of this thread, with an engine bound to it."""

    def __init__(self, app_settings: Settings) -> None:
        self.runner = asyncio.Runner()
        self.db: Database = self.runner.run(self._database(app_settings))
        # What the examples exercised, to show that each path was taken.
        self.seen: Counter[str] = Counter()

    @staticmethod
    async def _database(app_settings: Settings) -> Database:
        return Database(app_settings)

    def run(self, coro: Awaitable[T]) -> T:
        return self.runner.run(coro)  # type: ignore[arg-type]

    def tx(self, work: Callable[[WriteSession], Awaitable[T]]) -> T:
        async def go() -> T:
            async with write_transaction(self.db) as session:
                return await work(session)

        return self.run(go())

    def close(self) -> None:
        self.run(self.db.dispose())
        self.runner.close()


@dataclass
class Paid:
    creator: int
    currency: str
    gross: int
    fee: int
    created_at: datetime
    refunded: int = 0
    released: bool = False


@dataclass
class Payout:
    creator: int
    currency: str
    amount: int
    state: str = "requested"


@dataclass
class Model:
    # (creator, currency) -> [pending, available, in_transit]
    balances: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    payments: dict[int, Paid] = field(default_factory=dict)
    payouts: dict[int, Payout] = field(default_factory=dict)

    def of(self, creator: int, currency: str) -> list[int]:
        return self.balances.setdefault((creator, currency), [0, 0, 0])


class LedgerMachine(RuleBasedStateMachine):
    loop: ClassVar[Loop]
    payments = Bundle("payments")
    payout_ids = Bundle("payouts")

    def __init__(self) -> None:
        super().__init__()
        self.model = Model()
        self._wipe()

    def _wipe(self) -> None:
        async def wipe() -> None:
            async with self.loop.db.write_engine.begin() as conn:
                for table in LEDGER_TABLES:
                    await conn.execute(sa.text(f"DELETE FROM {table}"))

        self.loop.run(wipe())

    def teardown(self) -> None:
        self._wipe()

    @initialize(target=payments, gross=st.integers(5_000, 30_000))
    def start_with_money_available(self, gross: int) -> int:
        """Every history starts with one released payment, so payouts have something to move."""
        payment = self.pay(CREATORS[0], CURRENCIES[0], gross, 0)
        self.release(payment, early=False)
        return payment

    @rule(
        target=payments,
        creator=st.sampled_from(CREATORS),
        currency=st.sampled_from(CURRENCIES),
        gross=st.integers(1, 30_000),
        processor_fee=st.integers(0, 300),
    )
    def pay(self, creator: int, currency: str, gross: int, processor_fee: int) -> int:
        payment_id = next(ids)
        journal = self.loop.tx(
            lambda s: earnings.record_payment(
                s, payment_id, creator, "alipay", currency, gross, processor_fee, policy=POLICY
            )
        )
        assert journal.created
        fee = gross * 1234 // 10_000
        self.model.payments[payment_id] = Paid(creator, currency, gross, fee, journal.created_at)
        self.model.of(creator, currency)[0] += gross - fee
        return payment_id

    @rule(payment=payments)
    def pay_again(self, payment: int) -> None:
        p = self.model.payments[payment]
        journal = self.loop.tx(
            lambda s: earnings.record_payment(
                s, payment, p.creator, "alipay", p.currency, p.gross, policy=POLICY
            )
        )
        assert not journal.created

    @rule(payment=payments, amount=st.integers(1, 30_000), refund_twice=st.booleans())
    def refund(self, payment: int, amount: int, refund_twice: bool) -> None:
        p = self.model.payments[payment]
        refund_id = next(ids)
        if p.refunded + amount > p.gross:
            try:
                self.loop.tx(lambda s: earnings.record_refund(s, refund_id, payment, amount))
            except RefundExceedsPayment:
                self.loop.seen["refund refused"] += 1
                return
            raise AssertionError("a refund beyond the payment was accepted")
        for _ in range(2 if refund_twice else 1):  # a retried refund posts once
            self.loop.tx(lambda s: earnings.record_refund(s, refund_id, payment, amount))
        fee_back = p.fee * (p.refunded + amount) // p.gross - p.fee * p.refunded // p.gross
        p.refunded += amount
        self.loop.seen["refund after release" if p.released else "refund while held"] += 1
        self.model.of(p.creator, p.currency)[1 if p.released else 0] -= amount - fee_back

    @rule(payment=payments, early=st.booleans())
    def release(self, payment: int, early: bool) -> None:
        """Sweep as of the moment this payment's hold ends (or a microsecond before)."""
        now = self.model.payments[payment].created_at + HOLD
        if early:
            now -= timedelta(microseconds=1)
        while self.loop.tx(lambda s: earnings.release_holds(s, now, policy=POLICY)):
            pass
        for p in self.model.payments.values():
            if not p.released and p.created_at + HOLD <= now:
                p.released = True
                self.loop.seen["hold released"] += 1
                owed = p.gross - p.fee - (p.refunded - p.fee * p.refunded // p.gross)
                balance = self.model.of(p.creator, p.currency)
                balance[0] -= owed
                balance[1] += owed

    @rule(
        target=payout_ids,
        pick=st.integers(0, 7),
        percent=st.integers(1, 120),
    )
    def request_payout(self, pick: int, percent: int) -> Any:
        """A share of what is available (past 100 %: more than there is), mostly from a balance
        that has seen money."""
        payout_id = next(ids)
        known = sorted(k for k, v in self.model.balances.items() if v[1] > 0)
        known = known or sorted(self.model.balances)
        creator, currency = known[pick % len(known)]
        balance = self.model.of(creator, currency)
        amount = max(1, balance[1] * percent // 100) if balance[1] > 0 else 10 * percent
        expected: type[Exception] | None = None
        if amount < POLICY.min_payout_amount:
            expected = PayoutBelowMinimum
        elif balance[1] <= 0 or amount > balance[1]:
            expected = InsufficientFunds
        refused: Exception | None = None
        try:
            self.loop.tx(
                lambda s: payouts.request_payout(
                    s, creator, currency, amount, payout_id, policy=POLICY
                )
            )
        except (PayoutBelowMinimum, InsufficientFunds) as exc:
            refused = exc
        if refused is not None:
            assert type(refused) is expected, (refused, expected)
            self.loop.seen[f"payout refused: {type(refused).__name__}"] += 1
            return multiple()  # nothing to settle or reverse
        assert expected is None
        self.loop.seen["payout requested"] += 1
        balance[1] -= amount
        balance[2] += amount
        self.model.payouts[payout_id] = Payout(creator, currency, amount)
        return payout_id

    @rule(payout=payout_ids, settle=st.booleans())
    def finish_payout(self, payout: int, settle: bool) -> None:
        p = self.model.payouts[payout]
        call = payouts.settle_payout if settle else payouts.reverse_payout
        conflict = PayoutAlreadyReversed if settle else PayoutAlreadySettled
        refused: Exception | None = None
        try:
            self.loop.tx(lambda s: call(s, payout))
        except (PayoutAlreadyReversed, PayoutAlreadySettled) as exc:
            refused = exc
        if refused is not None:
            assert type(refused) is conflict
            assert p.state == ("reversed" if settle else "settled")
            return
        if p.state != "requested":  # a repeat: no change
            assert p.state == ("settled" if settle else "reversed")
            return
        balance = self.model.of(p.creator, p.currency)
        balance[2] -= p.amount
        if not settle:
            balance[1] += p.amount
        p.state = "settled" if settle else "reversed"
        self.loop.seen[f"payout {p.state}"] += 1

    @invariant()
    def ledger_is_consistent(self) -> None:
        async def read() -> tuple[list[Any], dict[int, dict[str, Any]]]:
            async with self.loop.db.write_sessionmaker() as session:
                violations = await check_invariants(session)
                found = {c: await service.balances(session, c) for c in CREATORS}
                return violations, found

        violations, found = self.loop.run(read())
        self.loop.seen["checks"] += 1
        assert violations == []
        for creator in CREATORS:
            for currency in CURRENCIES:
                expected = self.model.balances.get((creator, currency), [0, 0, 0])
                got = found[creator].get(currency)
                actual = [got.pending, got.available, got.in_transit] if got else [0, 0, 0]
                assert actual == expected, (creator, currency)


def _run(app_settings: Settings) -> Counter[str]:
    loop = Loop(app_settings)
    LedgerMachine.loop = loop
    try:
        run_state_machine_as_test(
            LedgerMachine,
            settings=settings(
                max_examples=25,
                stateful_step_count=30,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        loop.close()
    return loop.seen


async def test_random_histories_keep_the_ledger_balanced(migrated: Settings) -> None:
    seen = await asyncio.to_thread(_run, migrated)
    print(dict(seen))
    paths = (
        "hold released",
        "refund while held",
        "refund after release",
        "refund refused",
        "payout requested",
        "payout refused: InsufficientFunds",
        "payout settled",
        "payout reversed",
    )
    assert all(seen[path] > 0 for path in paths), seen
