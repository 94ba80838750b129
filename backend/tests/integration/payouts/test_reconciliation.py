"""Reconciliation at the scale of a busy day: 10,000 statement lines against 10,000 ledger
payments on MariaDB, three planted mismatches, exactly those three found."""

from __future__ import annotations

import random
import time
from datetime import date, timedelta

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from sharestack.db.base import utcnow
from sharestack.db.engine import Database
from sharestack.ledger.models import LedgerAccount, LedgerEntry, LedgerJournal, LedgerTransfer
from sharestack.payments.providers import references
from sharestack.payments.providers._common import CHINA_TZ
from sharestack.payments.providers.statements import parse_wechat_trade_bill
from sharestack.payments.providers.transfers import StatementLine
from sharestack.payouts import reconciliation
from tests.integration.billing import checkout, inline_jobs, key, make_plan, sandbox_pay, scalar
from tests.integration.helpers import signup
from tests.integration.ledger.conftest import in_tx
from tests.integration.payouts.conftest import no_violations
from tests.support.statement_files import Row, wechat_trade_bill

pytestmark = pytest.mark.integration

N = 10_000
DAY = date(2026, 12, 1)
BASE = 50_000_000  # explicit ids, clear of anything else the suite writes


async def _seed_ledger(db: Database, amounts: list[int]) -> None:
    """N captured payments of one creator through WeChat Pay, written in bulk but consistent
    (running balances, versions, cached balances), as record_payment with a 0 fee would."""
    start, _ = reconciliation.day_window(DAY)
    pending, clearing = BASE + 1, BASE + 2
    journals, transfers, entries = [], [], []
    running = 0
    for i, amount in enumerate(amounts):
        payment_id = BASE + i
        at = start + timedelta(seconds=8 * i)
        running += amount
        journals.append(
            {
                "id": BASE + i, "journal_key": f"payment:{payment_id}", "kind": "payment",
                "reference_type": "payment", "reference_id": payment_id, "created_at": at,
                "external_reference": references.checkout_trade_no(payment_id),
            }
        )  # fmt: skip
        transfers.append(
            {
                "id": BASE + i, "journal_id": BASE + i, "kind": "payment_captured",
                "debit_account_id": clearing, "credit_account_id": pending, "currency": "CNY",
                "amount": amount, "reference_type": "payment", "reference_id": payment_id,
                "transfer_key": f"payment:{payment_id}/0", "created_at": at,
            }
        )  # fmt: skip
        for offset, account, signed in ((0, clearing, -amount), (1, pending, amount)):
            entries.append(
                {
                    "id": BASE + 2 * i + offset, "account_id": account, "transfer_id": BASE + i,
                    "currency": "CNY", "amount": signed,
                    "balance_after": running if signed > 0 else -running,
                    "account_version": i + 1, "created_at": at,
                }
            )  # fmt: skip
    accounts = [
        {"id": pending, "kind": "creator_pending", "owner_id": 777, "provider": "",
         "currency": "CNY", "balance": running, "version": N, "created_at": start},
        {"id": clearing, "kind": "provider_clearing", "owner_id": 0, "provider": "wechatpay",
         "currency": "CNY", "balance": -running, "version": N, "created_at": start},
    ]  # fmt: skip
    async with db.write_engine.begin() as conn:
        await conn.execute(sa.insert(LedgerAccount), accounts)
        await conn.execute(sa.insert(LedgerJournal), journals)
        await conn.execute(sa.insert(LedgerTransfer), transfers)
        await conn.execute(sa.insert(LedgerEntry), entries)


async def test_three_planted_mismatches_among_ten_thousand_lines(
    client: httpx.AsyncClient, db: Database
) -> None:
    rng = random.Random(12)
    amounts = [rng.randint(100, 100_000) for _ in range(N)]
    await _seed_ledger(db, amounts)
    await no_violations(db)

    rows = [Row(references.checkout_trade_no(BASE + i), a) for i, a in enumerate(amounts)]
    missing, differs = 4_321, 8_765
    rows[differs] = Row(rows[differs].out_trade_no, amounts[differs] + 1)
    del rows[missing]  # on the ledger, not on the statement
    stranger = references.checkout_trade_no(BASE + N + 5)  # on the statement, not in the ledger
    rows.append(Row(stranger, 4_200))
    assert len(rows) == N
    lines = parse_wechat_trade_bill(wechat_trade_bill(rows))
    assert len(lines) == N

    started = time.perf_counter()
    summary = await in_tx(db, lambda s: reconciliation.reconcile(s, "wechatpay", DAY, lines))
    elapsed = time.perf_counter() - started
    found = sorted(
        (m.kind, m.reference, m.statement_amount, m.ledger_amount) for m in summary.mismatches
    )
    differing, dropped = (references.checkout_trade_no(BASE + i) for i in (differs, missing))
    assert found == [
        ("amount_mismatch", differing, amounts[differs] + 1, amounts[differs]),
        ("missing_in_ledger", stranger, 4_200, None),
        ("missing_in_statement", dropped, None, amounts[missing]),
    ]
    assert (summary.lines, summary.ledger_items) == (N, N)
    print(f"\nreconciled {N} lines against {N} ledger payments in {elapsed:.2f} s")
    assert elapsed < 30

    # A re-run replaces the day's open mismatches: still three rows, one run.
    await in_tx(db, lambda s: reconciliation.reconcile(s, "wechatpay", DAY, lines))
    async with db.write_engine.connect() as conn:
        count = (
            await conn.execute(sa.text("SELECT COUNT(*) FROM reconciliation_mismatches"))
        ).scalar()
        runs = (await conn.execute(sa.text("SELECT COUNT(*) FROM reconciliation_runs"))).scalar()
    assert (count, runs) == (3, 1)

    metrics = (await client.get("/metrics")).text
    assert 'sharestack_reconciliation_mismatches{provider="wechatpay"} 3.0' in metrics
    assert 'sharestack_reconciliation_mismatches{provider="alipay"} 0.0' in metrics
    await no_violations(db)


async def test_a_real_checkout_and_refund_reconcile_by_their_stored_numbers(
    client: httpx.AsyncClient, app: FastAPI, db: Database
) -> None:
    """A payment made through the API and its refund are matched by the numbers the provider
    was given (``payments.out_trade_no``, ``refunds.out_refund_no``), not by ids."""
    creator = await signup(client, "recon-creator")
    reader = await signup(client, "recon-reader")
    plan = await make_plan(client, creator, price_amount=1_000)
    async with inline_jobs(app) as jobs:
        payment_id = (await checkout(client, reader, plan["id"]))["payment"]["id"]
        await sandbox_pay(client, reader, payment_id)
        await jobs.settle()
        r = await client.post(
            f"/api/v1/payments/{payment_id}/refunds",
            json={"amount": 300},
            headers=creator.headers | key(),
        )
        assert r.status_code == 201, r.text
        await jobs.settle()
    trade_no = await scalar(app, "SELECT out_trade_no FROM payments WHERE id = :id", id=payment_id)
    refund_no = await scalar(
        app, "SELECT out_refund_no FROM refunds WHERE payment_id = :id", id=payment_id
    )
    assert references.is_ours("payment", trade_no)
    assert references.is_ours("refund", refund_no)
    day = utcnow().astimezone(CHINA_TZ).date()
    lines = [
        StatementLine("sandbox", "payment", trade_no, 1_000),
        StatementLine("sandbox", "refund", trade_no, 300, out_refund_no=refund_no),
        StatementLine("sandbox", "payment", "OTHER-SYSTEM-1", 5),
    ]
    clean = await in_tx(db, lambda s: reconciliation.reconcile(s, "sandbox", day, lines))
    assert clean.mismatches == []
    assert (clean.lines, clean.ledger_items) == (2, 2)

    lines[1] = StatementLine("sandbox", "refund", trade_no, 301, out_refund_no=refund_no)
    del lines[0]
    found = await in_tx(db, lambda s: reconciliation.reconcile(s, "sandbox", day, lines))
    assert sorted(
        (m.kind, m.reference, m.statement_amount, m.ledger_amount) for m in found.mismatches
    ) == [
        ("amount_mismatch", refund_no, 301, 300),
        ("missing_in_statement", trade_no, None, 1_000),
    ]
