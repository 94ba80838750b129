"""Work that must happen only once a write transaction has committed.

Two things in ShareStack must not happen for a transaction that rolls back, and must happen before
the response of one that commits: invalidating cache entries (a reader must never get the old
version after the write's response) and waking the job outbox relay. Components register an
application-wide hook on ``Database.after_commit_hooks``; domain code leaves notes in
``session.info`` under keys starting with ``NOTE_PREFIX`` during the transaction, which the hooks
read after the commit and which a rollback discards.

:func:`write_transaction` is the one transaction owner: the request dependency
(``sharestack.dependencies``) and the job runner both use it. After the COMMIT it reads, once, the
position a later read must have seen (``ReadRouting.position_after_commit``) and hands it to every
hook, since cache generations need it as much as the writer's read-your-writes token does.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sharestack.db.engine import Database
    from sharestack.db.session import WriteSession

logger = logging.getLogger(__name__)

AfterCommitHook = Callable[["WriteSession", "str | None"], Awaitable[None]]
NOTE_PREFIX = "after_commit:"


async def run_after_commit(db: Database, session: WriteSession, position: str | None) -> None:
    """Run every hook; a failing hook is logged, never raised: the data is committed already."""
    for hook in db.after_commit_hooks:
        try:
            await hook(session, position)
        except Exception:
            logger.exception("after-commit hook %s failed", getattr(hook, "__name__", hook))
    discard_after_rollback(session)


def discard_after_rollback(session: WriteSession) -> None:
    for key in [k for k in session.info if isinstance(k, str) and k.startswith(NOTE_PREFIX)]:
        del session.info[key]


@asynccontextmanager
async def write_transaction(db: Database) -> AsyncIterator[WriteSession]:
    """A write session on the primary: commits when the block ends, rolls back on error, then
    sets ``session.committed_position`` and runs the after-commit hooks."""
    async with db.write_sessionmaker() as session:
        try:
            yield session
            wrote = session.wrote
            await session.commit()
        except BaseException:
            await session.rollback()
            discard_after_rollback(session)
            raise
        position = await db.routing.position_after_commit(session) if wrote else None
        session.committed_position = position
        # The hooks talk to Redis only (they read the notes in session.info, which closing
        # keeps): give the connection back first, so that a slow Redis or a busy event loop
        # never holds a pooled connection that other requests wait for.
        await session.close()
        await run_after_commit(db, session, position)
