"""The embedded default: the ledger's migrations and flows on SQLite."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from sharestack.config import Settings
from sharestack.db.after_commit import write_transaction
from sharestack.db.base import utcnow
from sharestack.db.engine import Database
from sharestack.db.migrate import migrate
from sharestack.ledger import earnings, payouts, service
from sharestack.ledger.invariants import check_invariants
from sharestack.ledger.schemas import CreatorBalance
from sharestack.pagination import Cursors
from tests.integration.ledger.conftest import POLICY

CURSORS = Cursors("ledger-test-secret-key-0123456789abcdef")

pytestmark = pytest.mark.integration


async def test_the_flows_run_on_sqlite(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)
    await migrate(settings)
    db = Database(settings)
    try:
        for attempt in range(2):  # the second time, every posting finds its journal
            async with write_transaction(db) as s:
                journal = await earnings.record_payment(
                    s, 1, 9, "alipay", "CNY", 1_000, 5, policy=POLICY
                )
                assert journal.created is (attempt == 0)
                await earnings.record_refund(s, 1, 1, 100)
            async with write_transaction(db) as s:
                await earnings.release_holds(s, utcnow() + timedelta(days=8), policy=POLICY)
                await payouts.request_payout(s, 9, "CNY", 500, 1, policy=POLICY)
                await payouts.settle_payout(s, 1)
        async with db.write_sessionmaker() as s:
            assert await service.balances(s, 9) == {"CNY": CreatorBalance(available=310)}
            assert await check_invariants(s) == []
            # pending: capture, fee, refund, release; available: release, payout; in transit: 2
            assert len((await service.entries_page(s, CURSORS, 9, None, 50)).items) == 8
    finally:
        await db.dispose()
