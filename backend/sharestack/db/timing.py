"""Database time inside the API, per connection checkout: how long the checkout waited for the
pool, and how long its statements took on the server (round trip included).

One checkout is normally one request's use of one engine (sessions are lazy and hold their
connection until they close), so "wait + query" per checkout is the database time a request
paid. Python time spent between statements while holding the connection is not counted: that is
the application's time, not the database's.

The pool records its wait on the connection record (:data:`WAIT_KEY`, see
:class:`sharestack.db.pool.FairAsyncQueuePool`); statement times come from the engine's cursor
events. Nothing here depends on a metrics library: :func:`instrument` calls ``observe``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

WAIT_KEY = "sharestack_pool_wait_s"
_QUERY_KEY = "sharestack_query_s"
_STATEMENTS_KEY = "sharestack_statements"
_STARTED_KEY = "sharestack_statement_t0"

# observe(engine name, pool wait seconds, query seconds, statements)
Observer = Callable[[str, float, float, int], None]


def instrument(engine: AsyncEngine, name: str, observe: Observer) -> None:
    sync = engine.sync_engine

    def on_checkout(_dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        record.info[_QUERY_KEY] = 0.0
        record.info[_STATEMENTS_KEY] = 0
        record.info.setdefault(WAIT_KEY, 0.0)

    def on_checkin(_dbapi_conn: Any, record: Any) -> None:
        info = record.info
        if _QUERY_KEY not in info:
            return
        wait = info.pop(WAIT_KEY, 0.0)
        query = info.pop(_QUERY_KEY)
        statements = info.pop(_STATEMENTS_KEY, 0)
        info.pop(_STARTED_KEY, None)
        if statements:  # a checkout that ran nothing (a pre-ping only) is no database time
            observe(name, wait, query, statements)

    def before_execute(conn: sa.Connection, *_args: Any) -> None:
        conn.info[_STARTED_KEY] = time.perf_counter()

    def after_execute(conn: sa.Connection, *_args: Any) -> None:
        _finish(conn.info)

    def on_error(context: sa.engine.ExceptionContext) -> None:
        if context.connection is not None:
            _finish(context.connection.info)

    sa.event.listen(sync.pool, "checkout", on_checkout)
    sa.event.listen(sync.pool, "checkin", on_checkin)
    sa.event.listen(sync, "before_cursor_execute", before_execute)
    sa.event.listen(sync, "after_cursor_execute", after_execute)
    sa.event.listen(sync, "handle_error", on_error)


def _finish(info: dict[Any, Any]) -> None:
    started = info.pop(_STARTED_KEY, None)
    if started is None or _QUERY_KEY not in info:
        return
    info[_QUERY_KEY] += time.perf_counter() - started
    info[_STATEMENTS_KEY] += 1
