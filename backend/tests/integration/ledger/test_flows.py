"""The money flows end to end on MariaDB: what each moves, what each refuses, idempotency."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharestack.db.base import utcnow
from sharestack.db.engine import Database
from sharestack.ledger import earnings, payouts, posting, rules, service
from sharestack.ledger.exceptions import (
    AlreadyReversed,
    InsufficientFunds,
    NegativeBalance,
    PaymentNotRecorded,
    PayoutAlreadyReversed,
    PayoutAlreadySettled,
    PayoutBelowMinimum,
    PayoutNotFound,
    RefundExceedsPayment,
)
from sharestack.ledger.invariants import check_invariants
from sharestack.ledger.schemas import CreatorBalance
from sharestack.pagination import Cursors
from tests.integration.ledger.conftest import POLICY, count, in_tx

CURSORS = Cursors("ledger-test-secret-key-0123456789abcdef")

pytestmark = pytest.mark.integration

CREATOR = 501
LATER = timedelta(days=POLICY.hold_days, seconds=1)


async def pay(db: Database, payment_id: int, gross: int, processor_fee: int = 0) -> None:
    await in_tx(
        db,
        lambda s: earnings.record_payment(
            s, payment_id, CREATOR, "alipay", "CNY", gross, processor_fee, policy=POLICY
        ),
    )


async def release(db: Database) -> list[posting.Journal]:
    return await in_tx(db, lambda s: earnings.release_holds(s, utcnow() + LATER, policy=POLICY))


async def balance(db: Database) -> CreatorBalance:
    async with db.write_sessionmaker() as session:
        return (await service.balances(session, CREATOR)).get("CNY", CreatorBalance())


async def violations(db: Database) -> list[str]:
    async with db.write_sessionmaker() as session:
        return [f"{v.check}: {v.detail}" for v in await check_invariants(session)]


async def account_balance(db: Database, kind: str) -> int:
    async with db.write_engine.connect() as conn:
        query = sa.text("SELECT balance FROM ledger_accounts WHERE kind = :kind")
        return int((await conn.execute(query, {"kind": kind})).scalar_one())


async def test_a_payment_is_held_released_refunded_and_paid_out(db: Database) -> None:
    await pay(db, 1, 10_000, processor_fee=60)
    assert await balance(db) == CreatorBalance(pending=9_000)
    assert await account_balance(db, "platform_fee_revenue") == 1_000
    assert await account_balance(db, "provider_clearing") == -10_000 + 60
    assert await account_balance(db, "processor_fees") == -60

    # Not yet due: nothing moves.
    assert await in_tx(db, lambda s: earnings.release_holds(s, utcnow(), policy=POLICY)) == []
    (released,) = await release(db)
    assert released.created
    assert [t.amount for t in released.transfers] == [9_000]
    assert await balance(db) == CreatorBalance(available=9_000)

    # After release a refund comes out of available; the fee goes back pro rata.
    await in_tx(db, lambda s: earnings.record_refund(s, 71, 1, 2_000))
    assert await balance(db) == CreatorBalance(available=7_200)
    assert await account_balance(db, "platform_fee_revenue") == 800

    await in_tx(db, lambda s: payouts.request_payout(s, CREATOR, "CNY", 7_000, 9, policy=POLICY))
    assert await balance(db) == CreatorBalance(available=200, in_transit=7_000)
    await in_tx(db, lambda s: payouts.settle_payout(s, 9))
    assert await balance(db) == CreatorBalance(available=200)
    assert await account_balance(db, "payout_clearing") == 7_000
    assert await violations(db) == []


async def test_a_refund_while_held_comes_out_of_pending(db: Database) -> None:
    await pay(db, 1, 1_000)
    await in_tx(db, lambda s: earnings.record_refund(s, 1, 1, 250))
    assert await balance(db) == CreatorBalance(pending=675)
    await in_tx(db, lambda s: earnings.record_refund(s, 2, 1, 750))
    assert await balance(db) == CreatorBalance()
    assert await account_balance(db, "platform_fee_revenue") == 0
    with pytest.raises(RefundExceedsPayment):
        await in_tx(db, lambda s: earnings.record_refund(s, 3, 1, 1))
    with pytest.raises(PaymentNotRecorded):
        await in_tx(db, lambda s: earnings.record_refund(s, 4, 999, 1))
    # Fully refunded while held: the release posts an empty journal, so it is not retried.
    (released,) = await release(db)
    assert released.created
    assert released.transfers == ()
    assert await release(db) == []
    assert await violations(db) == []


async def test_a_refund_of_paid_out_money_blocks_payouts_until_positive(db: Database) -> None:
    await pay(db, 1, 1_000)
    await release(db)
    await in_tx(db, lambda s: payouts.request_payout(s, CREATOR, "CNY", 900, 1, policy=POLICY))
    await in_tx(db, lambda s: earnings.record_refund(s, 1, 1, 1_000))
    assert await balance(db) == CreatorBalance(available=-900, in_transit=900)
    with pytest.raises(InsufficientFunds):
        await in_tx(db, lambda s: payouts.request_payout(s, CREATOR, "CNY", 100, 2, policy=POLICY))
    await pay(db, 2, 2_000)
    await release(db)
    assert await balance(db) == CreatorBalance(available=900, in_transit=900)
    await in_tx(db, lambda s: payouts.request_payout(s, CREATOR, "CNY", 900, 2, policy=POLICY))
    assert await violations(db) == []


async def test_payout_refusals(db: Database) -> None:
    await pay(db, 1, 1_000)
    with pytest.raises(InsufficientFunds):  # all of it still pending
        await in_tx(db, lambda s: payouts.request_payout(s, CREATOR, "CNY", 100, 1, policy=POLICY))
    await release(db)
    with pytest.raises(PayoutBelowMinimum):
        await in_tx(db, lambda s: payouts.request_payout(s, CREATOR, "CNY", 99, 1, policy=POLICY))
    with pytest.raises(InsufficientFunds):
        await in_tx(db, lambda s: payouts.request_payout(s, CREATOR, "CNY", 901, 1, policy=POLICY))
    with pytest.raises(PayoutNotFound):
        await in_tx(db, lambda s: payouts.settle_payout(s, 1))
    assert await balance(db) == CreatorBalance(available=900)


async def test_a_payout_is_settled_or_reversed_not_both(db: Database) -> None:
    await pay(db, 1, 10_000)
    await release(db)
    for payout_id in (1, 2):
        await in_tx(
            db,
            lambda s, p=payout_id: payouts.request_payout(
                s, CREATOR, "CNY", 1_000, p, policy=POLICY
            ),
        )
    await in_tx(db, lambda s: payouts.settle_payout(s, 1))
    with pytest.raises(PayoutAlreadySettled):
        await in_tx(db, lambda s: payouts.reverse_payout(s, 1))
    reversed_ = await in_tx(db, lambda s: payouts.reverse_payout(s, 2))
    assert reversed_.transfers[0].reverses_transfer_id is not None
    with pytest.raises(PayoutAlreadyReversed):
        await in_tx(db, lambda s: payouts.settle_payout(s, 2))
    again = await in_tx(db, lambda s: payouts.reverse_payout(s, 2))
    assert (again.id, again.created) == (reversed_.id, False)
    assert await balance(db) == CreatorBalance(available=8_000)
    assert await violations(db) == []


async def test_posting_a_key_twice_posts_once(db: Database) -> None:
    await pay(db, 1, 1_000)
    before = [await count(db, t) for t in ("ledger_journals", "ledger_transfers", "ledger_entries")]
    first = await in_tx(
        db, lambda s: earnings.record_payment(s, 1, CREATOR, "alipay", "CNY", 1_000, policy=POLICY)
    )
    assert not first.created
    assert len(first.transfers) == 2
    after = [await count(db, t) for t in ("ledger_journals", "ledger_transfers", "ledger_entries")]
    assert after == before == [1, 2, 4]
    assert await balance(db) == CreatorBalance(pending=900)


async def test_a_journal_is_reversed_once_and_never_below_zero(db: Database) -> None:
    await pay(db, 1, 1_000)
    reversal = await in_tx(db, lambda s: posting.reverse_journal(s, "payment:1", key="fix:1"))
    assert [t.kind for t in reversal.transfers] == ["reversal", "reversal"]
    assert await balance(db) == CreatorBalance()
    with pytest.raises(AlreadyReversed):
        await in_tx(db, lambda s: posting.reverse_journal(s, "payment:1", key="fix:2"))
    # Pending never goes negative: a posting that would is refused and writes nothing.
    leg = rules.Leg(
        "reversal",
        rules.creator("creator_pending", CREATOR, "CNY"),
        rules.clearing("alipay", "CNY"),
        1,
    )
    with pytest.raises(NegativeBalance):
        await in_tx(
            db,
            lambda s: posting.post_journal(
                s, [leg], key="bad:1", kind="reversal", reference_type="test", reference_id=1
            ),
        )
    assert await count(db, "ledger_journals") == 2
    assert await violations(db) == []


async def test_check_invariants_notices_a_tampered_balance(db: Database) -> None:
    await pay(db, 1, 1_000)
    assert await violations(db) == []
    async with db.write_engine.begin() as conn:
        await conn.execute(
            sa.text(
                "UPDATE ledger_accounts SET balance = balance + 1 WHERE kind = 'creator_pending'"
            )
        )
    found = {v.split(":")[0] for v in await violations(db)}
    assert found == {"account_caches", "last_balance", "currency_totals"}


async def test_entries_come_in_keyset_pages_newest_first(db: Database) -> None:
    for payment_id in range(1, 8):
        await pay(db, payment_id, 1_000 + payment_id)
    await release(db)
    seen: list[int] = []
    cursor = None
    while True:
        async with db.write_sessionmaker() as session:
            page = await service.entries_page(session, CURSORS, CREATOR, cursor, 4)
        seen += [e.id for e in page.items]
        assert all(e.currency == "CNY" for e in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    # 7 captures + 7 fees on pending, 7 releases on pending and available.
    assert len(seen) == 28 == len(set(seen))
    assert seen == sorted(seen, reverse=True)
    async with db.write_sessionmaker() as session:
        newest = (await service.entries_page(session, CURSORS, CREATOR, None, 1)).items[0]
        assert (newest.account_kind, newest.transfer_kind) == ("creator_available", "hold_released")
        assert (await service.entries_page(session, CURSORS, 999, None, 10)).items == []
