"""The payouts' read paths use the indexes meant for them (EXPLAIN of the repository's SQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharestack.db.base import utcnow
from sharestack.db.engine import Database
from sharestack.pagination import Position
from sharestack.payouts import repository, rules
from sharestack.payouts.models import Payout, PayoutAccount
from sharestack.users.models import User
from tests.integration.test_schema import _explain, _uses

pytestmark = pytest.mark.integration

CREATORS, PAYOUTS = 200, 4000


async def test_payout_read_paths_use_their_indexes(db: Database) -> None:
    now = utcnow()
    async with db.write_sessionmaker() as session:
        await session.execute(
            sa.insert(User),
            [
                {
                    "id": c,
                    "email": f"p{c}@example.com",
                    "status": "active",
                    "created_at": now,
                    "updated_at": now,
                }
                for c in range(1, CREATORS + 1)
            ],
        )
        await session.execute(
            sa.insert(PayoutAccount),
            [
                {
                    "id": c,
                    "creator_id": c,
                    "provider": "sandbox",
                    "identity_type": "sandbox",
                    "identity": f"a{c}",
                    "created_at": now,
                    "updated_at": now,
                }
                for c in range(1, CREATORS + 1)
            ],
        )
        await session.execute(
            sa.insert(Payout),
            [
                {
                    "creator_id": p % CREATORS + 1,
                    "payout_account_id": p % CREATORS + 1,
                    "amount": 1000,
                    "currency": "CNY",
                    "provider": "sandbox",
                    "provider_status": "",
                    "status": "paid" if p % 10 else "in_transit",
                    "attempts": 1,
                    "idempotency_key": rules.payout_key_digest(p, "k"),
                    "next_attempt_at": None if p % 10 else now + timedelta(minutes=p),
                    "created_at": now - timedelta(minutes=p),
                    "updated_at": now,
                }
                for p in range(PAYOUTS)
            ],
        )
        await session.execute(sa.text("ANALYZE TABLE payouts"))
        await session.commit()

        page = await _explain(session, lambda: repository.payouts_page(session, 7, None, 21))
        _uses(page, "payouts", "ix_payouts_creator_id_created_at")
        deeper = Position(now - timedelta(minutes=2000), 10**9)
        page = await _explain(session, lambda: repository.payouts_page(session, 7, deeper, 21))
        _uses(page, "payouts", "ix_payouts_creator_id_created_at")

        due = await _explain(session, lambda: repository.claim_due(session, now, 50))
        _uses(due, "payouts", "ix_payouts_next_attempt_at")

        start, end = rules.china_day(now)
        totals = await _explain(session, lambda: repository.day_totals(session, 7, start, end))
        _uses(totals, "payouts", "ix_payouts_creator_id_created_at")
        await session.rollback()
