"""The transactional outbox: ``enqueue`` inside a transaction, ``OutboxRelay`` after the commit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa

from sharestack.background import cancel_and_wait
from sharestack.db.after_commit import NOTE_PREFIX, write_transaction
from sharestack.db.base import utcnow
from sharestack.jobs import registry
from sharestack.jobs.models import OutboxJob

if TYPE_CHECKING:
    from sharestack.db.engine import Database
    from sharestack.db.session import WriteSession
    from sharestack.jobs.queue import JobQueue

logger = logging.getLogger(__name__)

_NOTE = NOTE_PREFIX + "outbox"
# Sent rows are kept a day for inspection, then purged by the relay.
KEEP_SENT = timedelta(days=1)


async def enqueue(session: WriteSession, function: str, **kwargs: Any) -> None:
    """Ask for ``function(**kwargs)`` to run once this session's transaction commits."""
    registry.get(function)  # an unknown job name fails in the request, not in the worker
    session.add(OutboxJob(function=function, kwargs=orjson.dumps(kwargs).decode()))
    await session.flush()
    session.info[_NOTE] = True


class OutboxRelay:
    """Moves committed outbox rows to the queue. Woken by every commit that added a row; also
    polls, so rows left by a process that died after its commit go out too."""

    def __init__(self, db: Database, queue: JobQueue, poll_seconds: float = 1.0) -> None:
        self.db = db
        self.queue = queue
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def after_commit(self, session: WriteSession, _position: str | None) -> None:
        if session.info.pop(_NOTE, False):
            self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()
            try:
                while await self.relay_once() > 0:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                # Database or Redis unavailable: the rows stay unsent and the next pass retries.
                logger.warning("outbox relay pass failed; retrying", exc_info=True)
                await asyncio.sleep(self.poll_seconds)

    async def relay_once(self, limit: int = 100) -> int:
        """Hand up to ``limit`` committed rows to the queue; returns how many."""
        async with write_transaction(self.db) as session:
            query = (
                sa.select(OutboxJob)
                .where(OutboxJob.sent_at.is_(None))
                .order_by(OutboxJob.id)
                .limit(limit)
                # Several relays (API processes, workers) share the table: each row goes to one.
                .with_for_update(skip_locked=True)
            )
            rows = (await session.execute(query)).scalars().all()
            for row in rows:
                await self.queue.enqueue(row.function, f"outbox:{row.id}", orjson.loads(row.kwargs))
                row.sent_at = utcnow()
            if rows:
                await session.flush()
        return len(rows)

    async def purge_sent(self) -> int:
        async with write_transaction(self.db) as session:
            result = await session.execute(
                sa.delete(OutboxJob).where(OutboxJob.sent_at < utcnow() - KEEP_SENT)
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def pending(self) -> int:
        async with self.db.write_sessionmaker() as session:
            count = await session.scalar(
                sa.select(sa.func.count()).select_from(OutboxJob).where(OutboxJob.sent_at.is_(None))
            )
        return int(count or 0)
