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
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from sharestack.db.replicas import FAILOVER_ERRORS

if TYPE_CHECKING:
    from sharestack.db.routing import ReadRouting

T = TypeVar("T")


class ReadSession(AsyncSession):
    """May be served by a replica. Never written through.

    Made by :meth:`sharestack.db.routing.ReadRouting.read_session`, which gives it its routing.
    When the server fails in the middle of a read (connection refused or lost), the statement is
    retried on another healthy replica or the primary, and the failed replica's breaker opens:
    the caller sees no error. Reads are idempotent, so a retry is safe; a WriteSession never
    retries.
    """

    def __init__(self, *args: Any, routing: ReadRouting | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.routing = routing
        self._await_position: str | None = None

    if not TYPE_CHECKING:  # the type checker keeps AsyncSession's precise overloads

        async def execute(self, *args: Any, **kwargs: Any) -> Any:
            return await self._served(super().execute, *args, **kwargs)

        async def scalar(self, *args: Any, **kwargs: Any) -> Any:
            return await self._served(super().scalar, *args, **kwargs)

        async def scalars(self, *args: Any, **kwargs: Any) -> Any:
            return await self._served(super().scalars, *args, **kwargs)

        async def get(self, *args: Any, **kwargs: Any) -> Any:
            return await self._served(super().get, *args, **kwargs)

    def require_position(self, position: str) -> None:
        """Before this session's first statement, wait until its replica has applied
        ``position``; if it has not (or fails), move to the primary.

        Lazy on purpose: a request that never reaches the database (a cache hit) never waits
        and never checks out a connection. The wait runs on the session's own connection,
        which its reads then use; ``MASTER_GTID_WAIT`` touches no table, so the snapshot is
        taken by the first real read, after the wait."""
        self._await_position = position

    async def _served(self, call: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        routing = self.routing
        if self._await_position is not None and routing is not None:
            position, self._await_position = self._await_position, None
            engine = self.bind
            assert isinstance(engine, AsyncEngine)
            if not await routing.catch_up(await self.connection(), engine, position):
                await _release(self)
                self._rebind(routing.primary)
        tried: list[AsyncEngine] = []
        while True:
            try:
                return await call(*args, **kwargs)
            except sa.exc.StatementError as exc:
                engine = self.bind
                following = (
                    routing.failover(engine, exc, tried)
                    if routing is not None and isinstance(engine, AsyncEngine)
                    else None
                )
                if following is None:
                    raise
                await _release(self)
                self._rebind(following)

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
    so that the caller's next reads see it.

    After its transaction commits, ``committed_position`` holds what later reads must have seen
    to include it (``ReadRouting.position_after_commit``), or None when it changed nothing."""

    sync_session_class = _WriteSyncSession
    committed_position: str | None = None

    @property
    def wrote(self) -> bool:
        return bool(self.info.get("wrote") or self.new or self.dirty or self.deleted)
