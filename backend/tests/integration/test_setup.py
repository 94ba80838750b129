"""First start on a MariaDB server: ``sharestack migrate`` creates the configured database with
the project's charset and collation, says what to run when the account may not, and prints no
server warnings. Run as the real command (a subprocess), since the operator sees its output."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sharestack.db.migrate import DatabaseSetupError, create_database_statement
from tests.support import servers

pytestmark = pytest.mark.integration

BACKEND = Path(__file__).resolve().parents[2]


def migrate(database_url: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DATABASE_URL=database_url, ENVIRONMENT="development", LOG_LEVEL="INFO")
    return subprocess.run(
        [sys.executable, "-m", "sharestack", "migrate"],
        cwd=BACKEND,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def missing_database() -> Iterator[str]:
    servers.require_mariadb()
    name = f"ss_new_{secrets.token_hex(4)}"
    yield name
    servers.drop_database(name)


def test_migrate_creates_the_database_without_warnings(missing_database: str) -> None:
    done = migrate(servers.database_url(missing_database))
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Traceback" not in output
    # MySQL names every primary key PRIMARY and warned once per table about ours.
    assert "ignored for PRIMARY key" not in output, output
    with servers.admin_connection() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME "
            "FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
            (missing_database,),
        )
        assert cur.fetchone() == ("utf8mb4", "utf8mb4_unicode_ci")
        cur.execute(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
            (missing_database,),
        )
        assert cur.fetchone()[0] > 5


def test_least_privilege_account_is_told_what_to_run(missing_database: str) -> None:
    user, password = f"ss_lp_{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    with servers.admin_connection() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
        cur.execute(f"CREATE USER '{user}'@'localhost' IDENTIFIED BY '{password}'")
    try:
        url = servers.MYSQL_URL.set(username=user, password=password, database=missing_database)
        done = migrate(url.render_as_string(hide_password=False))
    finally:
        with servers.admin_connection() as conn, conn.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
            cur.execute(f"DROP USER IF EXISTS '{user}'@'localhost'")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    assert f"CREATE DATABASE IF NOT EXISTS `{missing_database}`" in done.stderr
    assert "utf8mb4_unicode_ci" in done.stderr
    assert f"GRANT ALL PRIVILEGES ON `{missing_database}`.*" in done.stderr


@pytest.mark.parametrize("name", ["a`b", "x; DROP DATABASE y", "名字", "a" * 65, "a-b"])
def test_database_names_are_validated_before_quoting(name: str) -> None:
    with pytest.raises(DatabaseSetupError):
        create_database_statement(name)
