"""The ledger's read paths use the indexes meant for them (EXPLAIN of the repository's own SQL)."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from sharestack.db.base import utcnow
from sharestack.db.engine import Database
from sharestack.db.session import WriteSession
from sharestack.ledger import repository
from sharestack.ledger.models import LedgerAccount, LedgerEntry, LedgerJournal, LedgerTransfer
from tests.integration.test_schema import _explain, _uses

pytestmark = pytest.mark.integration

CREATORS = 300
PAYMENTS = 4000


async def _seed(session: WriteSession) -> dict[str, Any]:
    """Enough rows for the optimizer to prefer indexes: 300 creators, 4,000 payments, half of
    them released (amounts need not balance here)."""
    rng = random.Random(12)
    now = utcnow()
    accounts = [
        {"owner_id": 0, "kind": "provider_clearing", "provider": "alipay", "currency": "CNY"},
        {"owner_id": 0, "kind": "platform_fee_revenue", "provider": "", "currency": "CNY"},
    ] + [
        {"owner_id": c, "kind": k, "provider": "", "currency": "CNY"}
        for c in range(1, CREATORS + 1)
        for k in ("creator_pending", "creator_available", "creator_in_transit")
    ]
    await session.execute(
        sa.insert(LedgerAccount),
        [a | {"balance": 0, "version": 0, "created_at": now} for a in accounts],
    )
    ids = {
        (r.owner_id, r.kind): r.id
        for r in (await session.execute(sa.select(LedgerAccount))).scalars()
    }
    journals, transfers, entries = [], [], []
    for p in range(1, PAYMENTS + 1):
        creator = rng.randint(1, CREATORS)
        at = now - timedelta(hours=p)
        released = p % 2 == 0
        moves = [
            ("payment", "payment_captured", (0, "provider_clearing"), (creator, "creator_pending"))
        ]
        if released:
            moves.append(
                (
                    "hold_release",
                    "hold_released",
                    (creator, "creator_pending"),
                    (creator, "creator_available"),
                )
            )
        for kind, transfer_kind, debit, credit in moves:
            jid = len(journals) + 1
            journals.append(
                {
                    "id": jid,
                    "journal_key": f"{kind}:{p}",
                    "kind": kind,
                    "reference_type": "payment",
                    "reference_id": p,
                    "created_at": at,
                }
            )
            transfers.append(
                {
                    "id": jid,
                    "journal_id": jid,
                    "kind": transfer_kind,
                    "debit_account_id": ids[debit],
                    "credit_account_id": ids[credit],
                    "currency": "CNY",
                    "amount": 100,
                    "reference_type": "payment",
                    "reference_id": p,
                    "transfer_key": f"{kind}:{p}/0",
                    "reverses_transfer_id": None,
                    "created_at": at,
                }
            )
            for account, amount in ((ids[debit], -100), (ids[credit], 100)):
                entries.append(
                    {
                        "account_id": account,
                        "transfer_id": jid,
                        "currency": "CNY",
                        "amount": amount,
                        "balance_after": 0,
                        "account_version": len(entries) + 1,
                        "created_at": at,
                    }
                )
    await session.execute(sa.insert(LedgerJournal), journals)
    await session.execute(sa.insert(LedgerTransfer), transfers)
    await session.execute(sa.insert(LedgerEntry), entries)
    for table in ("ledger_accounts", "ledger_journals", "ledger_transfers", "ledger_entries"):
        await session.execute(sa.text(f"ANALYZE TABLE {table}"))
    busiest = max(
        range(1, CREATORS + 1),
        key=lambda c: sum(
            1 for t in transfers if t["credit_account_id"] == ids[(c, "creator_pending")]
        ),
    )
    return {
        "creator": busiest,
        "accounts": [
            ids[(busiest, k)]
            for k in ("creator_pending", "creator_available", "creator_in_transit")
        ],
    }


async def test_ledger_read_paths_use_their_indexes(db: Database) -> None:
    async with db.write_sessionmaker() as session:
        seeded = await _seed(session)
        await session.commit()

        accounts = await _explain(
            session, lambda: repository.creator_accounts(session, seeded["creator"])
        )
        _uses(accounts, "ledger_accounts", "uq_ledger_accounts_owner_id_kind_provider_currency")

        for before in (None, 5000):
            page = await _explain(
                session,
                lambda b=before: repository.entries_page(session, seeded["accounts"], b, 21),
            )
            ranges = [r for r in page if r["table"] == "ledger_entries" and r["key"] != "PRIMARY"]
            assert len(ranges) == 3, page  # one backward index range per account, no sort
            for row in ranges:
                assert row["key"] == "ix_ledger_entries_account_id_id", row
                assert "filesort" not in (row["Extra"] or ""), row
            _uses(page, "ledger_transfers", "PRIMARY")

        by_ref = await _explain(
            session, lambda: repository.transfers_for(session, "payment", [10, 11])
        )
        (row,) = [r for r in by_ref if r["table"] == "ledger_transfers"]
        # A range per payment; sorting a few payments' transfers by id is no cost.
        assert row["key"] == "ix_ledger_transfers_reference_type_reference_id", row
        assert row["type"] == "range", row

        key = await _explain(session, lambda: repository.get_journal(session, "payment:17"))
        assert _uses(key, "ledger_journals", "uq_ledger_journals_journal_key")["type"] == "const"

        due = await _explain(
            session,
            lambda: repository.claim_due_payments(session, utcnow() - timedelta(days=7), 50),
        )
        _uses(due, "payment", "ix_ledger_journals_kind_created_at")
        _uses(due, "ledger_journals", "ix_ledger_journals_reference_type_reference_id_kind")
        await session.rollback()
