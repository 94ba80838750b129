"""Apply Alembic migrations, exactly once even when several API instances start together.

On MySQL/MariaDB the upgrade runs while holding ``GET_LOCK('sharestack_migrate')`` on the same
connection: a second instance waits for the lock, then finds the schema at head and does nothing.
The lock is per connection, so it survives the implicit commits of MySQL DDL.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from sharestack.config import Settings
from sharestack.db.base import CHARSET, COLLATION
from sharestack.db.engine import make_engine

logger = logging.getLogger(__name__)

BACKEND_DIR = Path(__file__).resolve().parents[2]
LOCK_NAME = "sharestack_migrate"
LOCK_TIMEOUT_SECONDS = 600


# Names we create ourselves: letters, digits, _ and $ (MySQL allows more when quoted; nothing
# here needs it, and a name that could close the backticks never reaches the statement).
_DATABASE_NAME = re.compile(r"^[A-Za-z0-9_$]{1,64}$")
_UNKNOWN_DATABASE = 1049
_DATABASE_ACCESS_DENIED = 1044
_SIGN_IN_REFUSED = (1045, 1698)
_CANNOT_CONNECT = 2003
_ACCESS_DENIED = (1044, 1045, 1142, 1227)


class DatabaseSetupError(RuntimeError):
    """A set-up problem an operator fixes by hand; the CLI prints it without a traceback."""


def _mysql_errno(exc: BaseException) -> int | None:
    orig = getattr(exc, "orig", None)
    args = getattr(orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def create_database_statement(name: str) -> str:
    if not _DATABASE_NAME.match(name):
        raise DatabaseSetupError(
            f"database name {name!r} in DATABASE_URL: use letters, digits, _ or $ (at most 64)"
        )
    return f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET {CHARSET} COLLATE {COLLATION}"


async def ensure_database(settings: Settings) -> bool:
    """Create the configured MySQL/MariaDB database if it does not exist (True when created).

    Connects to the database first; only when the server answers "unknown database" does it
    connect without one and run ``CREATE DATABASE IF NOT EXISTS`` with the project's charset and
    collation. A least-privilege account may not have that right: then the error says what an
    administrator runs."""
    url = sa.make_url(settings.primary_database_url)
    if url.get_backend_name() not in ("mysql", "mariadb") or not url.database:
        return False
    engine = make_engine(settings.primary_database_url, settings)
    try:
        async with engine.connect():
            return False
    except sa.exc.OperationalError as exc:
        # An account without rights on a database that does not exist hears "access denied"
        # (1044) rather than "unknown database": both lead to the attempt to create it.
        errno = _mysql_errno(exc)
        if errno in _SIGN_IN_REFUSED:
            raise DatabaseSetupError(
                f"MySQL refused the sign-in of {url.username!r} at {url.host}:{url.port or 3306}"
                f" ({exc.orig}): check the user and password in DATABASE_URL"
            ) from None
        if errno == _CANNOT_CONNECT:
            raise DatabaseSetupError(
                f"cannot reach MySQL at {url.host}:{url.port or 3306} ({exc.orig}): is it "
                "running, and is DATABASE_URL's host right?"
            ) from None
        if errno not in (_UNKNOWN_DATABASE, _DATABASE_ACCESS_DENIED):
            raise
    finally:
        await engine.dispose()
    statement = create_database_statement(url.database)
    # URL.set(database=None) would keep the database: build the server URL without one.
    server_url = sa.URL.create(
        url.drivername, url.username, url.password, url.host, url.port, query=url.query
    )
    server = make_engine(server_url.render_as_string(hide_password=False), settings)
    try:
        async with server.connect() as conn:
            await conn.execute(sa.text(statement))
    except (sa.exc.OperationalError, sa.exc.ProgrammingError) as exc:
        if _mysql_errno(exc) not in _ACCESS_DENIED:
            raise
        user = url.username or "the application user"
        raise DatabaseSetupError(
            f"database `{url.database}` does not exist (or {user} may not use it), and {user} "
            "may not create it. "
            f"As an administrator, run:\n  {statement};\n"
            f"  GRANT ALL PRIVILEGES ON `{url.database}`.* TO '{user}'@'%';\n"
            "(adjust the host part to the account's), then start again."
        ) from None
    finally:
        await server.dispose()
    logger.warning("created database", extra={"database": url.database, "collation": COLLATION})
    return True


def alembic_config(
    connection: Connection | None = None, settings: Settings | None = None
) -> Config:
    """``settings`` reach the migrations that need the application's keys (sealing data)."""
    config = Config(str(BACKEND_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(BACKEND_DIR / "migrations"))
    config.attributes["connection"] = connection
    config.attributes["settings"] = settings
    return config


def _run(connection: Connection, settings: Settings, revision: str, downgrade: bool) -> None:
    config = alembic_config(connection, settings)
    if downgrade:
        command.downgrade(config, revision)
    else:
        command.upgrade(config, revision)


async def migrate(settings: Settings, revision: str = "head", *, downgrade: bool = False) -> None:
    await ensure_database(settings)
    engine = make_engine(settings.primary_database_url, settings)
    try:
        async with engine.connect() as conn:
            mysql = conn.dialect.name in ("mysql", "mariadb")
            if mysql:
                got = (
                    await conn.execute(
                        sa.text("SELECT GET_LOCK(:name, :timeout)"),
                        {"name": LOCK_NAME, "timeout": LOCK_TIMEOUT_SECONDS},
                    )
                ).scalar_one()
                if got != 1:
                    raise RuntimeError(f"could not take the migration lock {LOCK_NAME!r}")
                await conn.commit()
            try:
                await conn.run_sync(_run, settings, revision, downgrade)
                await conn.commit()
            finally:
                if mysql:
                    await conn.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": LOCK_NAME})
        logger.info("migrations applied", extra={"revision": revision, "downgrade": downgrade})
    finally:
        await engine.dispose()
