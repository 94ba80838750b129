"""Throwaway MariaDB servers for system tests: standalone, or a GTID primary + replica pair.

Each server runs the repository's own configuration (deploy/mysql/mariadb/{primary,replica}.cnf
through ``!include``) with only paths, ports and memory overridden, and carries the accounts that
deploy/mysql/init/users.mariadb.sql.in creates in production. ``mariadb-install-db`` runs once per
test session into a template data directory; every server then starts from a copy of it (a copy
takes ~0.03 s against ~0.5 s for install-db).

Because the template is installed without a binary log, every copy starts with an empty GTID
state, so a replica made from it replicates the primary's binary log from its first event.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pymysql
import pytest

from tests.support.processes import ManagedProcess, free_port, require_binary, wait_until

REPO_ROOT = Path(__file__).resolve().parents[3]
MARIADB_CONF_DIR = REPO_ROOT / "deploy" / "mysql" / "mariadb"
USERS_SCRIPT = REPO_ROOT / "deploy" / "mysql" / "init" / "10-users.sh"
APP_DB = "sharestack"

# Small-machine overrides on top of the production files: paths and ports, tiny memory, and
# relaxed durability (a test server that crashes is thrown away anyway).
_TEST_OVERRIDES = """
[mariadbd]
datadir                         = {base}/data
socket                          = {base}/mysqld.sock
pid-file                        = {base}/mysqld.pid
log-error                       = {base}/error.log
port                            = {port}
bind-address                    = 127.0.0.1
server_id                       = {server_id}
innodb_buffer_pool_size         = 32M
innodb_log_file_size            = 16M
innodb_flush_method             = fsync
innodb_flush_log_at_trx_commit  = 2
sync_binlog                     = 0
max_connections                 = 150
slave_parallel_threads          = 0
{user_line}
{extra}
"""


@dataclass(frozen=True)
class Credentials:
    """Passwords for one test session, generated at run time (never stored anywhere)."""

    app: str = field(default_factory=lambda: "a&" + secrets.token_urlsafe(12))
    repl: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    # Quote, backslash and '@' exercise the quoting in 10-users.sh and in the backup tool's URLs.
    backup: str = field(default_factory=lambda: "b'k\\@" + secrets.token_urlsafe(12))
    admin: str = field(default_factory=lambda: secrets.token_urlsafe(12))


def _sql_string(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "''")


def render_users_sql(creds: Credentials, host: str = "127.0.0.1") -> str:
    """The production accounts, rendered by deploy/mysql/init/10-users.sh itself (with the
    entrypoint's ``docker_process_sql`` replaced by ``cat``), plus a test admin account: the
    tests drive replication and restores over TCP as that admin."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "MYSQL_APP_DATABASE": APP_DB,
        "MYSQL_CLIENT_HOST": host,
        "MYSQL_APP_PASSWORD": creds.app,
        "MYSQL_REPLICATION_PASSWORD": creds.repl,
        "MYSQL_BACKUP_PASSWORD": creds.backup,
    }
    rendered = subprocess.run(
        ["bash", "-c", 'docker_process_sql() { cat; }; source "$1"', "render", str(USERS_SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    admin = _sql_string(creds.admin)
    return (
        # install-db's bootstrap runs with the grant tables off until this flush.
        "FLUSH PRIVILEGES;\n"
        + rendered
        + f"\nCREATE USER 'admin'@'{host}' IDENTIFIED BY '{admin}';\n"
        + f"GRANT ALL PRIVILEGES ON *.* TO 'admin'@'{host}' WITH GRANT OPTION;\n"
    )


class MariaDBServer:
    """One mariadbd process on a free loopback port."""

    def __init__(
        self, name: str, base: Path, port: int, server_id: int, role: str, creds: Credentials
    ) -> None:
        self.name, self.base, self.port, self.server_id, self.role = (
            name,
            base,
            port,
            server_id,
            role,
        )
        self.creds = creds
        self.defaults_file = base / "my.cnf"
        self.datadir = base / "data"
        self.proc = ManagedProcess(
            name=name,
            argv=[require_binary("mariadbd"), f"--defaults-file={self.defaults_file}"],
            log_path=base / "stdout.log",
        )

    # -- lifecycle -----------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> float:
        """Start and wait for an admin login over TCP; returns the seconds it took."""
        self.proc = ManagedProcess(name=self.name, argv=self.proc.argv, log_path=self.proc.log_path)
        self.proc.start()
        return wait_until(self.ping, timeout, f"{self.name} accepting logins", self.proc)

    def stop(self) -> None:
        self.proc.stop(signal.SIGTERM, timeout=30)

    def kill9(self) -> None:
        self.proc.kill9()

    def ping(self) -> bool:
        try:
            self.connect().close()
            return True
        except pymysql.err.MySQLError:
            return False

    def error_log(self, lines: int = 30) -> str:
        path = self.base / "error.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    # -- connections ---------------------------------------------------------------------
    def connect(
        self, user: str = "admin", database: str | None = None, **kwargs: Any
    ) -> pymysql.connections.Connection[Any]:
        password = {
            "admin": self.creds.admin,
            "sharestack": self.creds.app,
            "repl": self.creds.repl,
            "backup": self.creds.backup,
        }[user]
        return pymysql.connect(
            host="127.0.0.1",
            port=self.port,
            user=user,
            password=password,
            database=database,
            charset="utf8mb4",
            autocommit=True,
            connect_timeout=kwargs.pop("connect_timeout", 2),
            **kwargs,
        )

    def query(
        self, sql: str, args: Sequence[Any] | None = None, database: str | None = None
    ) -> list[tuple[Any, ...]]:
        conn = self.connect(database=database)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, args)
                return list(cur.fetchall())
        finally:
            conn.close()

    def scalar(
        self, sql: str, args: Sequence[Any] | None = None, database: str | None = None
    ) -> Any:
        rows = self.query(sql, args, database)
        return rows[0][0] if rows else None

    def url(
        self, user: str = "sharestack", database: str = APP_DB, driver: str = "mysql+asyncmy"
    ) -> str:
        password = {
            "sharestack": self.creds.app,
            "admin": self.creds.admin,
            "backup": self.creds.backup,
            "repl": self.creds.repl,
        }[user]
        return (
            f"{driver}://{user}:{quote(password, safe='')}@127.0.0.1:{self.port}/{database}"
            "?charset=utf8mb4"
        )

    # -- replication ---------------------------------------------------------------------
    def replicate_from(self, primary: MariaDBServer, timeout: float = 20.0) -> float:
        """Point this server at ``primary`` by GTID and wait until both threads run."""
        self.query(
            "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%s, MASTER_USER='repl', "
            "MASTER_PASSWORD=%s, MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1",
            (primary.port, self.creds.repl),
        )
        self.query("START SLAVE")
        return wait_until(self.replication_running, timeout, f"{self.name} replicating")

    def slave_status(self) -> dict[str, Any]:
        conn = self.connect(cursorclass=pymysql.cursors.DictCursor)
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW SLAVE STATUS")
                row = cur.fetchone()
                return dict(row) if row else {}
        finally:
            conn.close()

    def replication_running(self) -> bool:
        status = self.slave_status()
        return status.get("Slave_IO_Running") == "Yes" and status.get("Slave_SQL_Running") == "Yes"

    def wait_for_gtid(self, gtid: str, timeout: float = 10.0) -> None:
        result = self.scalar("SELECT MASTER_GTID_WAIT(%s, %s)", (gtid, timeout))
        if result != 0:
            raise TimeoutError(f"{self.name} did not reach GTID {gtid}: {self.slave_status()}")

    def gtid_binlog_pos(self) -> str:
        return str(self.scalar("SELECT @@gtid_binlog_pos"))


class MariaDBFactory:
    """Creates servers from a session-wide template data directory; stops every server it made."""

    def __init__(self, root: Path, creds: Credentials | None = None) -> None:
        self.root = root
        self.creds = creds or Credentials()
        self.servers: list[MariaDBServer] = []
        self._template: Path | None = None
        self._next_id = 1

    def _write_cnf(
        self, base: Path, role: str, port: int, server_id: int, extra: Sequence[str]
    ) -> Path:
        conf = MARIADB_CONF_DIR / ("replica.cnf" if role == "replica" else "primary.cnf")
        path = base / "my.cnf"
        user_line = "user = root" if os.geteuid() == 0 else ""
        path.write_text(
            f"!include {conf}\n"
            + _TEST_OVERRIDES.format(
                base=base,
                port=port,
                server_id=server_id,
                user_line=user_line,
                extra="\n".join(extra),
            )
        )
        return path

    def template(self) -> Path:
        """Install the system tables and accounts once per session."""
        if self._template is not None:
            return self._template
        install = require_binary("mariadb-install-db")
        base = self.root / "template"
        base.mkdir(parents=True)
        cnf = self._write_cnf(base, "primary", free_port(), 1, [])
        init = base / "init.sql"
        init.write_text(render_users_sql(self.creds))
        result = subprocess.run(
            [install, f"--defaults-file={cnf}", "--skip-test-db", f"--extra-file={init}"],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed:\n{result.stdout}\n{result.stderr}")
        self._template = base / "data"
        return self._template

    def create(
        self,
        name: str,
        role: str = "primary",
        extra: Sequence[str] = (),
        start: bool = True,
    ) -> MariaDBServer:
        template = self.template()
        base = self.root / name
        base.mkdir(parents=True)
        shutil.copytree(template, base / "data", symlinks=True)
        server_id = self._next_id
        self._next_id += 1
        port = free_port()
        self._write_cnf(base, role, port, server_id, extra)
        server = MariaDBServer(name, base, port, server_id, role, self.creds)
        self.servers.append(server)
        if start:
            server.start()
        return server

    def pair(self, prefix: str = "db") -> tuple[MariaDBServer, MariaDBServer]:
        """A primary and a GTID replica of it, replicating."""
        primary = self.create(f"{prefix}-primary", "primary")
        replica = self.create(f"{prefix}-replica", "replica")
        replica.replicate_from(primary)
        return primary, replica

    def stop_all(self) -> None:
        for server in reversed(self.servers):
            server.stop()


@pytest.fixture(scope="session", name="mariadb_factory")
def mariadb_factory_fixture(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[MariaDBFactory]:
    """Import this into a test module (``from tests.support.mariadb import
    mariadb_factory_fixture``) to use the ``mariadb_factory`` fixture there."""
    factory = MariaDBFactory(tmp_path_factory.mktemp("mariadb"))
    try:
        yield factory
    finally:
        factory.stop_all()


def timed(label: str, figures: dict[str, float]) -> _Timer:
    return _Timer(label, figures)


class _Timer:
    """``with timed("restore", figures): ...`` records the elapsed seconds under ``label``."""

    def __init__(self, label: str, figures: dict[str, float]) -> None:
        self.label, self.figures = label, figures

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.figures[self.label] = time.perf_counter() - self.start
