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
from sharestack.sealing import Sealer
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


async def test_ledger_journals_get_the_numbers_of_their_payments_and_refunds(
    scratch: Settings,
) -> None:
    """0045 backfills ``external_reference`` of journals posted before it, from the payment's
    ``out_trade_no`` and the refund's ``out_refund_no``."""
    await migrate(scratch, "0025_payouts_recon_mismatches")
    engine = make_engine(scratch.primary_database_url, scratch)
    insert = [
        "SET FOREIGN_KEY_CHECKS = 0",
        "INSERT INTO payments (id, user_id, kind, amount, currency, refunded_amount, status,"
        " provider, out_trade_no, idempotency_key, created_at, updated_at) VALUES (7, 1,"
        " 'checkout', 100, 'CNY', 40, 'succeeded', 'alipay', 'ck000000000031', 'checkout:31',"
        " NOW(), NOW())",
        "INSERT INTO refunds (id, payment_id, requested_by, amount, currency, status,"
        " out_refund_no, reason, created_at, updated_at) VALUES (9, 7, 1, 40, 'CNY',"
        " 'succeeded', 'rf000000000032', '', NOW(), NOW())",
        "INSERT INTO ledger_journals (id, journal_key, kind, reference_type, reference_id,"
        " created_at) VALUES (1, 'payment:7', 'payment', 'payment', 7, NOW()),"
        " (2, 'hold:7', 'hold_release', 'payment', 7, NOW()),"
        " (3, 'refund:9', 'refund', 'payment', 7, NOW())",
    ]
    try:
        async with engine.begin() as conn:
            for statement in insert:
                await conn.execute(sa.text(statement))
        await migrate(scratch)
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.text("SELECT journal_key, external_reference FROM ledger_journals ORDER BY id")
            )
            assert [tuple(r) for r in rows] == [
                ("payment:7", "ck000000000031"),
                ("hold:7", None),
                ("refund:9", "rf000000000032"),
            ]
    finally:
        await engine.dispose()


async def test_payees_names_are_sealed_and_open_again_on_downgrade(scratch: Settings) -> None:
    await migrate(scratch, "0045_ledger_external_reference")
    engine = make_engine(scratch.primary_database_url, scratch)
    sealer = Sealer.from_config(scratch.secret_key, scratch.data_encryption_keys)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("SET FOREIGN_KEY_CHECKS = 0"))
            await conn.execute(
                sa.text(
                    "INSERT INTO payout_accounts (id, creator_id, provider, identity_type,"
                    " identity, real_name, created_at, updated_at) VALUES (3, 11, 'alipay',"
                    " 'alipay_logon_id', 'a@example.com', '张三丰', NOW(), NOW())"
                )
            )
        await migrate(scratch, "0046_payouts_sealed_real_names")
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.text("SELECT real_name_sealed, real_name_masked FROM payout_accounts")
                )
            ).one()
        assert row[1] == "张**"
        assert "张三丰" not in row[0]
        assert sealer.open(row[0], context="payout_accounts.real_name:11") == "张三丰"
        await migrate(scratch, "0045_ledger_external_reference", downgrade=True)
        async with engine.connect() as conn:
            names = (await conn.execute(sa.text("SELECT real_name FROM payout_accounts"))).all()
        assert [tuple(n) for n in names] == [("张三丰",)]
    finally:
        await engine.dispose()
