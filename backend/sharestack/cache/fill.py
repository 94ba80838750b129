"""Where a cache fill reads from: a replica that has applied the write that invalidated the entry.

Filling from any replica would be unsafe: a replica that has not yet applied a write lets a fill
store the pre-write row under the post-write generation, and that entry would be served until
its TTL ends. Filling always from the primary is safe, but it leaves the replicas idle, because
with the cache in front the fills are the only reads on the hot paths.

So the write side records, with each new generation, the primary's GTID position right after the
commit (``position_after_commit``). A fill waits on a replica until it has applied that position
(``MASTER_GTID_WAIT`` / ``WAIT_FOR_EXECUTED_GTID_SET``, at most ``DB_GTID_WAIT_TIMEOUT``), and
goes to the primary if the replica has not. A generation created by a reader (never written
since it appeared) carries no position, and any healthy replica may fill it. With replicas but
read-your-writes not in ``gtid`` mode, generations carry the marker ``PRIMARY`` and fills after a
write go to the primary.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import TYPE_CHECKING

from sharestack.db.replicas import FAILOVER_ERRORS, current_gtid

if TYPE_CHECKING:
    from starlette.requests import Request

    from sharestack.db.engine import Database
    from sharestack.db.session import ReadSession, WriteSession

PRIMARY = "primary"
# Nothing will be stored (the cache is off or unreachable): read as any request would, following
# the caller's read-your-writes token (sharestack.db.consistency).
REQUEST_ROUTING = "request"

# Set by CacheAside around each loader call: the position the entry's generation requires.
FILL_POSITION: ContextVar[str | None] = ContextVar("cache_fill_position", default=None)


async def position_after_commit(db: Database, session: WriteSession) -> str | None:
    """What a fill must have seen after this commit (None without replicas)."""
    if not db.replicas:
        return None
    if db.settings.db_read_your_writes != "gtid":
        return PRIMARY
    try:
        return await current_gtid(await session.connection()) or PRIMARY
    except FAILOVER_ERRORS:
        return PRIMARY


@contextlib.asynccontextmanager
async def fill_session(db: Database, request: Request | None = None) -> AsyncIterator[ReadSession]:
    """A read session for one cache fill (see the module docstring)."""
    position = FILL_POSITION.get()
    maker = db.read_sessionmaker
    if position == REQUEST_ROUTING:
        if request is not None:
            session = db.consistency.read_session(request)
            session.info["failover"] = db
            async with _closing(db, session, request) as routed:
                yield routed
            return
        position = None
    replica = db.choose_replica() if position != PRIMARY else None
    session = maker(bind=replica.engine if replica else db.write_engine)
    session.info["failover"] = db
    if replica is not None and position:
        session.require_position(position, db.settings.db_gtid_wait_timeout)
    async with _closing(db, session, request) as ready:
        yield ready


@contextlib.asynccontextmanager
async def _closing(
    db: Database, session: ReadSession, request: Request | None
) -> AsyncIterator[ReadSession]:
    try:
        yield session
    finally:
        if request is not None:
            # The same note the request's own sessions leave (X-DB-Server in tests).
            served = {db.server_id(e) for e in session.info.get("served_by", ())}
            request.state.db_servers = set(getattr(request.state, "db_servers", set())) | {
                i for i in served if i is not None
            }
        with contextlib.suppress(*FAILOVER_ERRORS):
            await session.close()
