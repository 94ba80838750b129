"""The API as the replica tests run it: the real app plus two test-only reports on every response,
so a test can see which servers answered without the production path paying for it.

- ``X-DB-Server``: the ``@@server_id`` of each server whose connection ran a statement for the
  request (learnt once per new connection).
- ``X-DB-Wait-Ms``: how long the request's GTID wait took on its replica.

Run as ``python -m tests.support.instrumented --host H --port P [--no-migrate]`` from backend/
(``processes.api_argv(..., instrumented=True)``).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from contextvars import ContextVar
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sharestack.db.routing import ReadRouting
from sharestack.main import create_app as create_sharestack_app

_report: ContextVar[dict[str, Any] | None] = ContextVar("db_report", default=None)


@sa.event.listens_for(sa.pool.Pool, "connect")
def _learn_server_id(dbapi_conn: Any, record: Any) -> None:
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute("SELECT @@server_id")
        row = cursor.fetchone()
        record.info["server_id"] = int(row[0]) if row else None
    except Exception:  # SQLite has no @@server_id
        record.info["server_id"] = None
    finally:
        cursor.close()


@sa.event.listens_for(sa.engine.Engine, "before_cursor_execute")
def _before(conn: sa.Connection, _cursor: Any, statement: str, *_: Any) -> None:
    report = _report.get()
    # The wait for a position is not a read: a read that gives up on the replica after it is
    # answered by the primary alone.
    if report is None or "GTID_WAIT" in statement or "GTID_SET" in statement:
        return
    server_id = conn.connection.info.get("server_id")
    if server_id is not None:
        report["servers"].add(server_id)


_catch_up = ReadRouting.catch_up


async def _timed_catch_up(self: ReadRouting, *args: Any) -> bool:
    started = time.perf_counter()
    try:
        return await _catch_up(self, *args)
    finally:
        report = _report.get()
        if report is not None:
            report["wait_ms"] = (time.perf_counter() - started) * 1000


ReadRouting.catch_up = _timed_catch_up  # type: ignore[method-assign]


class ReportServers:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        report: dict[str, Any] = {"servers": set()}
        token = _report.set(report)

        async def reporting(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if report["servers"]:
                    joined = ",".join(str(s) for s in sorted(report["servers"]))
                    headers.append((b"x-db-server", joined.encode()))
                if "wait_ms" in report:
                    headers.append((b"x-db-wait-ms", f"{report['wait_ms']:.3f}".encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, reporting)
        finally:
            _report.reset(token)


def create_app() -> FastAPI:
    app = create_sharestack_app()
    app.add_middleware(ReportServers)
    return app


def main() -> None:
    import uvicorn

    from sharestack.config import get_settings
    from sharestack.db.migrate import migrate

    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--no-migrate", action="store_true")
    args = parser.parse_args()
    settings = get_settings()
    if not args.no_migrate:
        asyncio.run(migrate(settings))
    uvicorn.run(
        "tests.support.instrumented:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        access_log=False,
        log_config=None,
    )


if __name__ == "__main__":
    main()
