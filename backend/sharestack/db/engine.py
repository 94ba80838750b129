"""Engines and session factories: one primary (writes) and zero or more replicas (reads).

Pools come from configuration. On MySQL/MariaDB every new connection is set to the project's one
collation and to UTC: SQLAlchemy's dialect sends ``SET NAMES utf8mb4`` on connect, which would
otherwise leave ``collation_connection`` at the server default (utf8mb4_general_ci on MariaDB,
utf8mb4_0900_ai_ci on MySQL 8).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from sharestack.config import Settings
from sharestack.db.after_commit import AfterCommitHook
from sharestack.db.base import CHARSET, COLLATION
from sharestack.db.consistency import ReadYourWrites
from sharestack.db.pool import FairAsyncQueuePool
from sharestack.db.replicas import ReplicaMonitor, ReplicaState
from sharestack.db.routing import ReadRouting
from sharestack.db.session import WriteSession


def _on_mysql_connect(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute(f"SET NAMES {CHARSET} COLLATE {COLLATION}")
    cursor.execute("SET time_zone = '+00:00'")
    cursor.close()


def _on_sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_autocommit_driver(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event (below) start transactions instead of the driver.
    dbapi_conn.isolation_level = None


def _begin_immediate(conn: sa.Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(
    url: str,
    settings: Settings,
    connect_timeout: float | None = None,
    *,
    sqlite_writer: bool = False,
) -> AsyncEngine:
    sa_url = sa.make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        if sa_url.database:
            from pathlib import Path

            Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(sa_url, echo=settings.db_echo, hide_parameters=True)
        sa.event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
        if sqlite_writer:
            # SQLite's deferred transactions let two writers read the same row, and the second
            # one's write then fails ("database is locked"). BEGIN IMMEDIATE takes the write lock
            # first, so concurrent writers queue (busy_timeout) instead, as row locks make them
            # on MySQL. Readers are not blocked in WAL mode and use their own engine.
            sa.event.listen(engine.sync_engine, "connect", _sqlite_autocommit_driver)
            sa.event.listen(engine.sync_engine, "begin", _begin_immediate)
        return engine
    if "charset" not in sa_url.query:
        sa_url = sa_url.update_query_dict({"charset": CHARSET})
    engine = create_async_engine(
        sa_url,
        echo=settings.db_echo,
        # Parameters are user data (emails, password hashes, bodies): keep them out of logs and
        # error messages, DB_ECHO included.
        hide_parameters=True,
        poolclass=FairAsyncQueuePool,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_recycle=settings.db_pool_recycle,
        pool_timeout=settings.db_pool_timeout,
        pool_pre_ping=True,
        # READ COMMITTED, not InnoDB's REPEATABLE READ: request transactions are short and need
        # no repeatable snapshot, and RR's gap locks make concurrent inserts next to each other
        # deadlock. Safe with the binary log in ROW format, as deploy/mysql configures it.
        isolation_level="READ COMMITTED",
        # A replica that stopped answering must fail fast so the read moves elsewhere.
        connect_args={"connect_timeout": connect_timeout} if connect_timeout else {},
    )
    sa.event.listen(engine.sync_engine, "connect", _on_mysql_connect)
    return engine


def _label(url: str) -> str:
    parsed = sa.make_url(url)
    return f"{parsed.host}:{parsed.port or 3306}"


class Database:
    """The primary engine, the replica engines (each with its own pool and breaker), the write
    session factory and the read routing (``db/routing``), which makes read sessions."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Run after every committed write transaction (see sharestack.db.after_commit).
        self.after_commit_hooks: list[AfterCommitHook] = []
        self.write_engine = make_engine(settings.primary_database_url, settings, sqlite_writer=True)
        # Reads on the primary share its pool, except on SQLite, whose writers take the write
        # lock at BEGIN (see make_engine).
        reader = (
            make_engine(settings.primary_database_url, settings)
            if self.write_engine.dialect.name == "sqlite"
            else self.write_engine
        )
        self.replicas = [
            ReplicaState(_label(url), make_engine(url, settings, settings.db_replica_timeout))
            for url in settings.database_replica_urls
        ]
        self.read_engines = [r.engine for r in self.replicas]
        self.write_sessionmaker = async_sessionmaker(
            self.write_engine, class_=WriteSession, expire_on_commit=False, autoflush=False
        )
        self.routing = ReadRouting(
            reader,
            self.replicas,
            mode=settings.db_read_your_writes,
            wait_timeout=settings.db_gtid_wait_timeout,
        )
        self.consistency = ReadYourWrites(
            settings.db_read_your_writes, settings.db_sticky_seconds, settings.secret_key
        )
        self.monitor = ReplicaMonitor(
            self.replicas,
            interval=settings.db_replica_check_interval,
            max_lag=settings.db_replica_max_lag_seconds,
            timeout=settings.db_replica_timeout,
        )

    @property
    def is_mysql(self) -> bool:
        return self.write_engine.dialect.name in ("mysql", "mariadb")

    def replica_health(self) -> list[dict[str, Any]]:
        """Breaker state per replica, for /readyz and the metrics exporter."""
        return [r.snapshot() for r in self.replicas]

    async def start(self) -> None:
        """Start the replica monitor (one sampling round first, so that healthy replicas take
        reads from the first request). Every process that reads calls it: the API and the
        worker."""
        if self.is_mysql:
            await self.monitor.start()

    async def dispose(self) -> None:
        await self.monitor.stop()
        for engine in {self.write_engine, self.routing.primary, *self.read_engines}:
            await engine.dispose()
