"""``make alembic-check``: migrate a scratch MariaDB database to head, then ask Alembic whether
the models describe anything the migrations do not (``alembic check``)."""

from __future__ import annotations

import asyncio
import secrets

from alembic import command
from sqlalchemy.engine import Connection

from sharestack.config import Settings
from sharestack.db.engine import make_engine
from sharestack.db.migrate import alembic_config, migrate
from tests.support import servers


def _check(connection: Connection) -> None:
    command.check(alembic_config(connection))


async def main() -> None:
    servers.require_mariadb()
    name = f"ss_alembic_check_{secrets.token_hex(4)}"
    servers.create_database(name)
    try:
        settings = Settings(_env_file=None, database_url=servers.database_url(name))
        await migrate(settings)
        engine = make_engine(settings.primary_database_url, settings)
        async with engine.connect() as conn:
            await conn.run_sync(_check)
        await engine.dispose()
        print("alembic check: models and migrations agree")
    finally:
        servers.drop_database(name)


if __name__ == "__main__":
    asyncio.run(main())
