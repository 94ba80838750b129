"""Named dependencies for what handlers need from the process (the full-stack FastAPI
template's ``SessionDep`` style). This is the one module that reads ``app.state``: everything else
asks for a typed dependency.

The database sessions are here too. ``WriteSessionDep`` owns the request's transaction
(``db.after_commit.write_transaction``): it commits when the handler returns, before the response
is sent (``scope="function"``), so a client never sees success for a write that then failed to
commit; afterwards it leaves the caller's read-your-writes token for the middleware.
``ReadSessionDep`` is routed by the caller's token (``db.routing``) and lazy: a request that never
queries never checks out a connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from starlette.applications import Starlette
from starlette.requests import HTTPConnection

from sharestack.cache.aside import CacheAside
from sharestack.cache.reads import CachedReads
from sharestack.cache.redis import RedisRoles
from sharestack.config import Settings
from sharestack.db.after_commit import write_transaction
from sharestack.db.engine import Database
from sharestack.db.session import ReadSession, WriteSession
from sharestack.pagination import Cursors
from sharestack.state import AppState


def app_state(app: Starlette) -> AppState:
    """The state the lifespan built (``main.create_app``); tests use it too."""
    state: AppState = app.state.sharestack
    return state


async def get_state(connection: HTTPConnection) -> AppState:
    return app_state(connection.app)


StateDep = Annotated[AppState, Depends(get_state)]


async def _settings(state: StateDep) -> Settings:
    return state.settings


async def _database(state: StateDep) -> Database:
    return state.db


async def _cache(state: StateDep) -> CacheAside:
    return state.cache


async def _redis(state: StateDep) -> RedisRoles:
    return state.redis


async def _cursors(state: StateDep) -> Cursors:
    return state.cursors


SettingsDep = Annotated[Settings, Depends(_settings)]
CursorsDep = Annotated[Cursors, Depends(_cursors)]
DatabaseDep = Annotated[Database, Depends(_database)]
CacheDep = Annotated[CacheAside, Depends(_cache)]
RedisDep = Annotated[RedisRoles, Depends(_redis)]


def caller_position(connection: HTTPConnection, db: Database) -> str | None:
    """What this caller's reads must have seen (their read-your-writes token); without replicas
    every read is on the primary, and the token is not even decoded."""
    if not db.replicas:
        return None
    return db.consistency.position(connection)


async def _cached_reads(connection: HTTPConnection, state: StateDep) -> CachedReads:
    position = caller_position(connection, state.db)
    # The L1 (sharestack.cache.local) serves anonymous callers only: anyone presenting a
    # credential may be the writer of what they read, and must see their write on any process.
    signed = "authorization" in connection.headers or (
        state.settings.session_cookie_name in connection.cookies
    )
    return CachedReads(state.cache, state.db.routing, position, local=not signed)


CachedReadsDep = Annotated[CachedReads, Depends(_cached_reads)]


async def _write_session(
    connection: HTTPConnection, db: DatabaseDep
) -> AsyncIterator[WriteSession]:
    async with write_transaction(db) as session:
        yield session
    token = db.consistency.token_after_commit(session.committed_position)
    if token is not None:  # set on the response by db.consistency.ReadYourWritesMiddleware
        connection.state.ryw_cookie = token


async def _read_session(connection: HTTPConnection, db: DatabaseDep) -> AsyncIterator[ReadSession]:
    async with db.routing.reading(caller_position(connection, db)) as session:
        yield session


WriteSessionDep = Annotated[WriteSession, Depends(_write_session, scope="function")]
ReadSessionDep = Annotated[ReadSession, Depends(_read_session, scope="function")]
