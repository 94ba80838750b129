"""Alembic environment. The application passes an open connection (holding the migration lock)
in ``config.attributes["connection"]``; the ``alembic`` CLI gets one from the settings here."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from sharestack.config import get_settings
from sharestack.db.engine import make_engine
from sharestack.models import metadata

config = context.config


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    settings = get_settings()
    engine = make_engine(settings.primary_database_url, settings)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("ShareStack migrations run online only (python -m sharestack migrate)")

existing = config.attributes.get("connection")
if existing is not None:
    _configure(existing)
else:
    asyncio.run(_run_online())
