"""The FIFO pool gate on the real driver: a connection returned while others wait goes to the
longest waiter, never to a newcomer; a full pool times out with SQLAlchemy's error."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
import sqlalchemy.exc

from sharestack.config import Settings
from sharestack.db.engine import make_engine
from sharestack.db.pool import FairAsyncQueuePool

pytestmark = pytest.mark.integration


async def test_waiters_are_served_in_arrival_order(settings: Settings) -> None:
    small = settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0})
    engine = make_engine(small.primary_database_url, small)
    assert isinstance(engine.pool, FairAsyncQueuePool)
    order: list[str] = []

    async def use(name: str) -> None:
        async with engine.connect() as conn:
            order.append(name)
            await conn.execute(sa.text("SELECT 1"))

    try:
        holder = await engine.connect()
        await holder.execute(sa.text("SELECT 1"))
        waiters = [asyncio.create_task(use(f"waiter{i}")) for i in range(3)]
        await asyncio.sleep(0.05)
        assert engine.pool.waiting == 3
        # Return the connection and ask for one again in the same task, before the woken waiter
        # runs: SQLAlchemy's own pool hands it to this newcomer (and waiter0 ends up last).
        await holder.close()
        await use("newcomer")
        await asyncio.gather(*waiters)
        assert order == ["waiter0", "waiter1", "waiter2", "newcomer"]
    finally:
        await engine.dispose()


async def test_full_pool_times_out(settings: Settings) -> None:
    tiny = settings.model_copy(
        update={"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout": 0.2}
    )
    engine = make_engine(tiny.primary_database_url, tiny)
    try:
        async with engine.connect() as held:
            await held.execute(sa.text("SELECT 1"))
            with pytest.raises(sqlalchemy.exc.TimeoutError, match="no database connection free"):
                async with engine.connect() as conn:
                    await conn.execute(sa.text("SELECT 1"))
        async with engine.connect() as conn:  # the gate was released: usable again
            assert (await conn.execute(sa.text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()
