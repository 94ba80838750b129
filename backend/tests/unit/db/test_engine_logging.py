"""SQL parameters are user data (emails, password hashes, bodies): engines keep them out of log
lines and error messages, on SQLite and MySQL alike (MariaDB is checked for real in
tests/integration/test_contract.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from sharestack.config import Settings
from sharestack.db.engine import make_engine

SECRET = "hunter2-not-for-logs"


async def test_sqlite_errors_hide_parameters(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)
    engine = make_engine(settings.primary_database_url, settings)
    try:
        async with engine.connect() as conn:
            with pytest.raises(sa.exc.OperationalError) as caught:
                await conn.execute(sa.text("INSERT INTO missing VALUES (:v)"), {"v": SECRET})
    finally:
        await engine.dispose()
    assert SECRET not in str(caught.value)
    assert "hidden" in str(caught.value)


def test_mysql_engine_hides_parameters() -> None:
    settings = Settings(_env_file=None)
    engine = make_engine("mysql+asyncmy://u:p@127.0.0.1:1/none", settings)
    assert engine.sync_engine.hide_parameters
