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

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from sharestack.db.engine import Database


class ReadSession(AsyncSession):
    """May be served by a replica. Never written through."""


class WriteSession(ReadSession):
    """Served by the primary."""


def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def _write_session(request: Request) -> AsyncIterator[WriteSession]:
    async with get_database(request).write_sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def _read_session(request: Request) -> AsyncIterator[ReadSession]:
    async with get_database(request).read_sessionmaker() as session:
        yield session


# scope="function": the commit happens when the handler returns, before the response is sent,
# so a client never sees success for a write that then failed to commit.
WriteSessionDep = Annotated[WriteSession, Depends(_write_session, scope="function")]
ReadSessionDep = Annotated[ReadSession, Depends(_read_session, scope="function")]
