"""Typed sessions: which server a query may be served by is visible in the signature.

``ReadSession`` may be served by a replica and so may be slightly stale. ``WriteSession`` is on the
primary; it is a ``ReadSession`` too, so any read helper accepts it where a read must see the
caller's own writes. Always the primary: authentication, anything touching money,
``SELECT ... FOR UPDATE``, reads inside a write transaction, migrations, read-modify-write jobs.

The request dependency owns the transaction: it commits when the handler returns (before the
response is sent) and rolls back on error. Services and repositories ``add`` and ``flush``, never
``commit``. Sessions are lazy: a request that never queries never checks out a connection.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import sqlalchemy as sa
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from sharestack.db.replicas import FAILOVER_ERRORS, wait_for_gtid

if TYPE_CHECKING:
    from sharestack.db.engine import Database

T = TypeVar("T")
# A read is retried on this many further servers (other replicas, then the primary).
MAX_READ_ATTEMPTS = 3


class ReadSession(AsyncSession):
    """May be served by a replica. Never written through.

    When the server fails in the middle of a read (connection refused or lost), the statement is
    retried on another healthy replica or the primary, and the failed replica's breaker opens:
    the caller sees no error. Reads are idempotent, so a retry is safe; a WriteSession never
    retries.
    """

    if not TYPE_CHECKING:  # the type checker keeps AsyncSession's precise overloads

        async def execute(self, *args: Any, **kwargs: Any) -> Any:
            return await self._served(super().execute, *args, **kwargs)

        async def scalar(self, *args: Any, **kwargs: Any) -> Any:
            return await self._served(super().scalar, *args, **kwargs)

        async def scalars(self, *args: Any, **kwargs: Any) -> Any:
            return await self._served(super().scalars, *args, **kwargs)

        async def get(self, *args: Any, **kwargs: Any) -> Any:
            return await self._served(super().get, *args, **kwargs)

    def require_position(
        self, gtid: str, timeout: float, on_wait: Callable[[float], None] | None = None
    ) -> None:
        """Before this session's first statement, wait up to ``timeout`` seconds until its
        replica has applied ``gtid``; if it has not (or fails), move to the primary.

        Lazy on purpose: a request that never reaches the database (a cache hit) never waits
        and never checks out a connection. The wait runs on the session's own connection,
        which its reads then use; ``MASTER_GTID_WAIT`` touches no table, so the snapshot is
        taken by the first real read, after the wait. ``on_wait`` receives the wait in ms."""
        self.info["await_gtid"] = (gtid, timeout, on_wait)

    async def _catch_up(
        self, gtid: str, wait_seconds: float, on_wait: Callable[[float], None] | None
    ) -> None:
        db: Database | None = self.info.get("failover")
        engine = self.bind
        started = time.perf_counter()
        try:
            applied = await wait_for_gtid(await self.connection(), gtid, wait_seconds)
        except FAILOVER_ERRORS as exc:
            if db is not None and isinstance(engine, AsyncEngine):
                db.report_failure(engine, exc)
            applied = False
        if on_wait is not None:
            on_wait((time.perf_counter() - started) * 1000)
        if not applied and db is not None:
            await _release(self)
            self._rebind(db.write_engine)

    async def _served(self, call: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        pending = self.info.pop("await_gtid", None)
        if pending is not None:
            await self._catch_up(*pending)
        db: Database | None = self.info.get("failover")
        tried: list[AsyncEngine] = []
        while True:
            try:
                result = await call(*args, **kwargs)
            except sa.exc.StatementError as exc:
                # Any error on a replica is retried elsewhere (a read can run anywhere; an error
                # in the statement itself fails again on the primary and surfaces from there).
                # Only a lost or refused connection opens the replica's breaker.
                engine = self.bind
                if db is None or not isinstance(engine, AsyncEngine) or engine is db.write_engine:
                    raise
                if len(tried) + 1 >= MAX_READ_ATTEMPTS:
                    raise
                if isinstance(exc, FAILOVER_ERRORS) or getattr(
                    exc, "connection_invalidated", False
                ):
                    db.report_failure(engine, exc)
                tried.append(engine)
                await _release(self)
                replica = db.choose_replica(exclude=tried)
                self._rebind(replica.engine if replica else db.write_engine)
                continue
            self.info.setdefault("served_by", set()).add(self.bind)
            return result

    def _rebind(self, engine: AsyncEngine) -> None:
        self.bind = engine
        self.sync_session.bind = engine.sync_engine


async def _release(session: AsyncSession) -> None:
    """Drop the failed connection without expiring what the request already loaded: close()
    (unlike rollback()) detaches objects with their loaded state, so a handler that read a row
    before the failure can still use it without a (sync, hence impossible) refresh."""
    with contextlib.suppress(*FAILOVER_ERRORS):
        await session.close()
    session.sync_session.expunge_all()


class _WriteSyncSession(Session):
    """The sync session behind WriteSession: notes whether the transaction changed anything, so
    that only real writes trigger read-your-writes."""


@sa.event.listens_for(_WriteSyncSession, "after_flush")
def _flushed(session: Session, _flush_context: UOWTransaction) -> None:
    if session.new or session.dirty or session.deleted:
        session.info["wrote"] = True


@sa.event.listens_for(_WriteSyncSession, "do_orm_execute")
def _dml(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info["wrote"] = True


class WriteSession(ReadSession):
    """Served by the primary. DML through ``text()`` should set ``session.info["wrote"] = True``
    so that the caller's next reads see it."""

    sync_session_class = _WriteSyncSession


def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _note_servers(request: Request, db: Database, session: AsyncSession) -> None:
    served = session.info.get("served_by")
    if not served:
        return
    ids = {db.server_id(engine) for engine in served}
    request.state.db_servers = set(getattr(request.state, "db_servers", set())) | {
        i for i in ids if i is not None
    }


async def _write_session(request: Request) -> AsyncIterator[WriteSession]:
    from sharestack.db.after_commit import discard_after_rollback, run_after_commit

    db = get_database(request)
    async with db.write_sessionmaker() as session:
        try:
            yield session
            wrote = bool(
                session.info.get("wrote") or session.new or session.dirty or session.deleted
            )
            await session.commit()
        except BaseException:
            await session.rollback()
            discard_after_rollback(session)
            raise
        _note_servers(request, db, session)
        if wrote:
            await db.consistency.after_commit(request, session)
        # Cache invalidation and the outbox wake-up: after the commit, before the response.
        await run_after_commit(db, session)


async def _read_session(request: Request) -> AsyncIterator[ReadSession]:
    db = get_database(request)
    session = db.consistency.read_session(request)
    session.info["failover"] = db
    try:
        yield session
        _note_servers(request, db, session)
    finally:
        # Ending a read on a server that died after the last statement must not fail the
        # request: the answer is complete, and the dead connection is invalidated anyway.
        with contextlib.suppress(*FAILOVER_ERRORS):
            await session.close()


# scope="function": the commit happens when the handler returns, before the response is sent,
# so a client never sees success for a write that then failed to commit.
WriteSessionDep = Annotated[WriteSession, Depends(_write_session, scope="function")]
ReadSessionDep = Annotated[ReadSession, Depends(_read_session, scope="function")]
