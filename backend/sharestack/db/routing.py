"""Read routing, in one place: which server a read may use, what it must have seen first, and
where it goes when a replica fails.

A read names what it must have seen as a *position*:

``None``
    Nothing in particular: any healthy replica (round robin), or the primary when there is none.
``PRIMARY``
    Only the primary will do (a sticky writer, a fill after a write without GTID waits).
a GTID position or set
    A healthy replica once it has applied that position (``MASTER_GTID_WAIT`` /
    ``WAIT_FOR_EXECUTED_GTID_SET``, at most ``DB_GTID_WAIT_TIMEOUT``), else the primary.

Positions come from two places and are passed here as arguments: a caller's read-your-writes
token (``db/consistency``) and a cache generation token (``cache/aside``). Both are made by
:meth:`ReadRouting.position_after_commit`, read once per committed write.

A ``ReadSession`` gets its routing from the session factory (:meth:`ReadRouting.read_session`);
when its server fails in the middle of a read, it asks the routing for another one
(:meth:`ReadRouting.failover`).
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Callable, Collection
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sharestack.db.replicas import FAILOVER_ERRORS, ReplicaState, current_gtid, wait_for_gtid
from sharestack.db.session import ReadSession

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

PRIMARY = "primary"
# A read is retried on this many further servers (other replicas, then the primary).
MAX_READ_ATTEMPTS = 3


class ReadRouting:
    def __init__(
        self,
        primary: AsyncEngine,
        replicas: list[ReplicaState],
        *,
        mode: str,
        wait_timeout: float,
    ) -> None:
        self.primary = primary
        self.replicas = replicas
        self.mode = mode
        self.wait_timeout = wait_timeout
        # Called with each GTID wait's duration in ms (the metrics module subscribes).
        self.wait_observers: list[Callable[[float], None]] = []
        self._next = itertools.count()
        self._maker = async_sessionmaker(
            primary, class_=ReadSession, expire_on_commit=False, autoflush=False, routing=self
        )

    # -- choosing a server ---------------------------------------------------------------------

    def choose_replica(self, exclude: Collection[AsyncEngine] = ()) -> ReplicaState | None:
        """A healthy replica, round robin; None when every breaker is open."""
        healthy = [r for r in self.replicas if r.healthy and r.engine not in exclude]
        if not healthy:
            return None
        return healthy[next(self._next) % len(healthy)]

    def read_session(self, position: str | None = None) -> ReadSession:
        """A session for reads that must have seen ``position`` (see the module docstring)."""
        replica = None if position == PRIMARY else self.choose_replica()
        session = self._maker(bind=replica.engine if replica else self.primary)
        if replica is not None and position:
            session.require_position(position)
        return session

    @contextlib.asynccontextmanager
    async def reading(self, position: str | None = None) -> AsyncIterator[ReadSession]:
        """:meth:`read_session`, closed afterwards. Ending a read on a server that died after
        the last statement does not fail the caller: the answer is complete, and the dead
        connection is invalidated anyway."""
        session = self.read_session(position)
        try:
            yield session
        finally:
            with contextlib.suppress(*FAILOVER_ERRORS):
                await session.close()

    def failover(
        self, failed: AsyncEngine, exc: BaseException, tried: list[AsyncEngine]
    ) -> AsyncEngine | None:
        """The next server for a read that failed on ``failed``, or None to give up (the error
        is the statement's, or every attempt is used). Only a lost or refused connection opens
        the replica's breaker; any other error is retried once elsewhere and, if it is the
        statement's own fault, surfaces from the primary."""
        if failed is self.primary or len(tried) + 1 >= MAX_READ_ATTEMPTS:
            return None
        if isinstance(exc, FAILOVER_ERRORS) or getattr(exc, "connection_invalidated", False):
            self.report_failure(failed, exc)
        tried.append(failed)
        replica = self.choose_replica(exclude=tried)
        return replica.engine if replica else self.primary

    def report_failure(self, engine: AsyncEngine, exc: BaseException) -> None:
        """A read failed on this replica: open its breaker now; the monitor closes it again."""
        for replica in self.replicas:
            if replica.engine is engine:
                replica.mark(False, f"read failed: {type(exc).__name__}"[:200])

    # -- positions -----------------------------------------------------------------------------

    async def catch_up(self, conn: AsyncConnection, engine: AsyncEngine, position: str) -> bool:
        """Wait on this replica connection for ``position``; False sends the read to the primary."""
        started = time.perf_counter()
        try:
            applied = await wait_for_gtid(conn, position, self.wait_timeout)
        except FAILOVER_ERRORS as exc:
            self.report_failure(engine, exc)
            applied = False
        waited_ms = (time.perf_counter() - started) * 1000
        for observe in self.wait_observers:
            observe(waited_ms)
        return applied

    async def position_after_commit(self, session: AsyncSession) -> str | None:
        """What a later read must have seen to include the transaction this session just
        committed: read once per commit, for the writer's read-your-writes token and for the
        cache generations the commit invalidated. None without replicas (everything is read from
        the primary anyway)."""
        if not self.replicas:
            return None
        if self.mode != "gtid":
            return PRIMARY
        try:
            # A new (rolled back) transaction on the same pool; the position read now includes
            # the COMMIT that just returned.
            return await current_gtid(await session.connection()) or PRIMARY
        except FAILOVER_ERRORS:
            return PRIMARY
