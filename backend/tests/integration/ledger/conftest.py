from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from sharestack.db.after_commit import write_transaction
from sharestack.db.engine import Database
from sharestack.db.session import WriteSession
from sharestack.dependencies import app_state
from sharestack.ledger.rules import LedgerPolicy

T = TypeVar("T")

POLICY = LedgerPolicy(fee_bps=1000, hold_days=7, min_payout_amount=100, release_batch=50)


@pytest.fixture
async def db(app: FastAPI, clean_tables: None) -> Database:
    return app_state(app).db


async def in_tx(db: Database, work: Callable[[WriteSession], Awaitable[T]]) -> T:
    """Run ``work`` in its own committed transaction, as a request or a job would."""
    async with write_transaction(db) as session:
        return await work(session)


async def count(db: Database, table: str) -> int:
    async with db.write_engine.connect() as conn:
        return int((await conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}"))).scalar_one())
