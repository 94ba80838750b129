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
from sharestack.db.base import CHARSET, COLLATION
from sharestack.db.pool import FairAsyncQueuePool
from sharestack.db.session import ReadSession, WriteSession


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


def make_engine(url: str, settings: Settings) -> AsyncEngine:
    sa_url = sa.make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        if sa_url.database:
            from pathlib import Path

            Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(sa_url, echo=settings.db_echo)
        sa.event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
        return engine
    if "charset" not in sa_url.query:
        sa_url = sa_url.update_query_dict({"charset": CHARSET})
    engine = create_async_engine(
        sa_url,
        echo=settings.db_echo,
        poolclass=FairAsyncQueuePool,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_recycle=settings.db_pool_recycle,
        pool_timeout=settings.db_pool_timeout,
        pool_pre_ping=True,
    )
    sa.event.listen(engine.sync_engine, "connect", _on_mysql_connect)
    return engine


class Database:
    """The primary engine, the replica engines, and a session factory for each kind."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.write_engine = make_engine(settings.primary_database_url, settings)
        self.read_engines = [make_engine(url, settings) for url in settings.database_replica_urls]
        self.write_sessionmaker = async_sessionmaker(
            self.write_engine, class_=WriteSession, expire_on_commit=False, autoflush=False
        )
        self.read_sessionmaker = async_sessionmaker(
            self.read_engines[0] if self.read_engines else self.write_engine,
            class_=ReadSession,
            expire_on_commit=False,
            autoflush=False,
        )

    @property
    def is_mysql(self) -> bool:
        return self.write_engine.dialect.name in ("mysql", "mariadb")

    async def dispose(self) -> None:
        for engine in [self.write_engine, *self.read_engines]:
            await engine.dispose()
