"""Migrations on the real server: a full round trip, models and migrations agreeing, and several
instances starting together migrating exactly once."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from sharestack.config import Settings
from sharestack.db.engine import make_engine
from sharestack.db.migrate import alembic_config, migrate
from sharestack.models import metadata
from tests.support import servers

pytestmark = pytest.mark.integration


@pytest.fixture
def scratch(mysql_database: str) -> Iterator[Settings]:
    name = f"ss_mig_{secrets.token_hex(4)}"
    servers.create_database(name)
    yield Settings(_env_file=None, database_url=servers.database_url(name))
    servers.drop_database(name)


async def _tables_and_version(settings: Settings) -> tuple[set[str], set[str]]:
    engine = make_engine(settings.primary_database_url, settings)
    try:
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
            versions: set[str] = set()
            if "alembic_version" in tables:
                rows = await conn.execute(sa.text("SELECT version_num FROM alembic_version"))
                versions = {r[0] for r in rows}
            return tables, versions
    finally:
        await engine.dispose()


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def test_upgrade_downgrade_upgrade(scratch: Settings) -> None:
    await migrate(scratch)
    tables, versions = await _tables_and_version(scratch)
    assert set(metadata.tables) <= tables
    assert versions == {_head()}

    await migrate(scratch, "base", downgrade=True)
    tables, versions = await _tables_and_version(scratch)
    assert tables <= {"alembic_version"}
    assert versions == set()

    await migrate(scratch)
    tables, versions = await _tables_and_version(scratch)
    assert set(metadata.tables) <= tables
    assert versions == {_head()}


async def test_models_and_migrations_agree(scratch: Settings) -> None:
    await migrate(scratch)
    engine = make_engine(scratch.primary_database_url, scratch)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), metadata
                )
            )
    finally:
        await engine.dispose()
    assert diff == []


async def test_instances_starting_together_migrate_once(scratch: Settings) -> None:
    # Five API instances starting at once: the GET_LOCK makes them take turns; the first one
    # migrates and the others find the schema at head. Without the lock they would race on DDL
    # and fail with "table already exists".
    await asyncio.gather(*(migrate(scratch) for _ in range(5)))
    tables, versions = await _tables_and_version(scratch)
    assert set(metadata.tables) <= tables
    assert versions == {_head()}
