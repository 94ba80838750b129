"""Apply Alembic migrations, exactly once even when several API instances start together.

On MySQL/MariaDB the upgrade runs while holding ``GET_LOCK('sharestack_migrate')`` on the same
connection: a second instance waits for the lock, then finds the schema at head and does nothing.
The lock is per connection, so it survives the implicit commits of MySQL DDL.
"""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from sharestack.config import Settings
from sharestack.db.engine import make_engine

logger = logging.getLogger(__name__)

BACKEND_DIR = Path(__file__).resolve().parents[2]
LOCK_NAME = "sharestack_migrate"
LOCK_TIMEOUT_SECONDS = 600


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config(str(BACKEND_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(BACKEND_DIR / "migrations"))
    config.attributes["connection"] = connection
    return config


def _run(connection: Connection, revision: str, downgrade: bool) -> None:
    config = alembic_config(connection)
    if downgrade:
        command.downgrade(config, revision)
    else:
        command.upgrade(config, revision)


async def migrate(settings: Settings, revision: str = "head", *, downgrade: bool = False) -> None:
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
                await conn.run_sync(_run, revision, downgrade)
                await conn.commit()
            finally:
                if mysql:
                    await conn.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": LOCK_NAME})
        logger.info("migrations applied", extra={"revision": revision, "downgrade": downgrade})
    finally:
        await engine.dispose()
