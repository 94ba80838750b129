"""The ledger's job functions, called as the worker would."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sharestack.db.after_commit import write_transaction
from sharestack.db.engine import Database
from sharestack.jobs.registry import JOBS
from sharestack.ledger import earnings, jobs
from sharestack.ledger.rules import LedgerPolicy
from sharestack.resources import Resources

pytestmark = pytest.mark.integration


async def test_release_and_check_jobs(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    assert {"release_ledger_holds", "check_ledger"} <= JOBS.keys()
    settings = db.settings.model_copy(update={"ledger_hold_days": 0, "ledger_release_batch": 2})
    # The ledger jobs use neither Redis nor the cache.
    ctx = Resources(settings=settings, db=db, redis=None, cache=None, cursors=None)  # type: ignore[arg-type]
    async with write_transaction(db) as s:
        for payment_id in range(1, 6):
            await earnings.record_payment(
                s, payment_id, 77, "alipay", "CNY", 1_000, policy=LedgerPolicy(hold_days=0)
            )
    assert await jobs.release_ledger_holds(ctx) == 5  # three batches of at most two
    assert await jobs.release_ledger_holds(ctx) == 0
    assert await jobs.check_ledger(ctx) == 0

    async with db.write_engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE ledger_accounts SET balance = -1 WHERE kind = 'creator_pending'")
        )
    with caplog.at_level("ERROR", logger="sharestack.ledger.jobs"):
        assert await jobs.check_ledger(ctx) > 0
    assert any(r.message == "ledger invariant violated" for r in caplog.records)
