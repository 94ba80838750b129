"""How the backup tooling reaches a server: URL parsing, the client programs of each flavour,
and credentials handed to those programs through a private option file (never argv, where any
local user could read them in the process list)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pymysql
import pymysql.cursors

from sharestack.ops import gtid


class BackupError(RuntimeError):
    """An operation failed; the message says what to do about it."""


class Flavor(StrEnum):
    MARIADB = "mariadb"
    MYSQL = "mysql"


@dataclass(frozen=True)
class ServerSpec:
    host: str
    port: int
    user: str
    password: str
    database: str | None = None
    socket: str | None = None

    @classmethod
    def from_url(cls, url: str) -> ServerSpec:
        """``mysql://user:pass@host:port/db`` (any ``mysql+driver`` scheme, and ``?socket=``)."""
        parts = urlsplit(url.strip())
        if not parts.scheme.startswith(("mysql", "mariadb")):
            raise BackupError(f"not a MySQL/MariaDB URL: {parts.scheme}://…")
        query = parse_qs(parts.query)
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            database=parts.path.lstrip("/") or None,
            socket=query["socket"][0] if "socket" in query else None,
        )

    @property
    def label(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"

    def connect(self, **kwargs: Any) -> pymysql.connections.Connection[Any]:
        try:
            return pymysql.connect(
                host=self.host,
                port=self.port,
                user=self.user,
                password=self.password,
                unix_socket=self.socket,
                charset="utf8mb4",
                autocommit=True,
                connect_timeout=kwargs.pop("connect_timeout", 5),
                **kwargs,
            )
        except pymysql.err.MySQLError as exc:
            raise BackupError(f"cannot connect to {self.label}: {exc}") from exc


def server_flavor(conn: pymysql.connections.Connection[Any]) -> tuple[Flavor, str]:
    with conn.cursor() as cur:
        cur.execute("SELECT VERSION()")
        row = cur.fetchone()
    version = str(row[0]) if row else ""
    return (Flavor.MARIADB if "mariadb" in version.lower() else Flavor.MYSQL), version


def query_dicts(
    conn: pymysql.connections.Connection[Any], sql: str, args: Any = None
) -> list[dict[str, Any]]:
    with conn.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute(sql, args)
        return list(cur.fetchall())


def query_value(conn: pymysql.connections.Connection[Any], sql: str, args: Any = None) -> Any:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        row = cur.fetchone()
    return row[0] if row else None


def replica_status(
    conn: pymysql.connections.Connection[Any], flavor: Flavor
) -> dict[str, Any] | None:
    """The replication status row, or None on a server that replicates from nobody."""
    rows = query_dicts(conn, gtid.replica_status_sql(flavor is Flavor.MARIADB))
    return rows[0] if rows else None


def gtid_position(conn: pymysql.connections.Connection[Any], flavor: Flavor) -> str:
    """Every transaction in this server's data, as a GTID position (MariaDB) or set (MySQL).

    MariaDB: ``gtid_binlog_pos`` — replicas run with log_slave_updates, so it holds the primary's
    GTIDs they applied, which is what a replay from the primary's binary logs continues from.
    """
    return gtid.clean_position(query_value(conn, gtid.position_sql(flavor is Flavor.MARIADB)))


_TOOLS = {
    "client": {Flavor.MARIADB: ("mariadb", "mysql"), Flavor.MYSQL: ("mysql",)},
    "dump": {Flavor.MARIADB: ("mariadb-dump", "mysqldump"), Flavor.MYSQL: ("mysqldump",)},
    "binlog": {Flavor.MARIADB: ("mariadb-binlog", "mysqlbinlog"), Flavor.MYSQL: ("mysqlbinlog",)},
}


def tool(kind: str, flavor: Flavor) -> str:
    """The client program for this flavour. A MySQL server needs MySQL's own mysqldump and
    mysqlbinlog (8.0): MariaDB's cannot write ``--set-gtid-purged`` or read MySQL GTID events."""
    for name in _TOOLS[kind][flavor]:
        path = shutil.which(name)
        if path:
            return path
    names = " or ".join(_TOOLS[kind][flavor])
    hint = (
        "apt-get install -y mariadb-client"
        if flavor is Flavor.MARIADB
        else "install MySQL 8.0 client programs (mysql-client / the mysql:8.0 image)"
    )
    raise BackupError(f"{names} not found; {hint}")


@contextlib.contextmanager
def option_file(spec: ServerSpec) -> Iterator[Path]:
    """A mode-0600 option file with the connection and password, removed afterwards. Pass it as
    the FIRST argument (``--defaults-file=``) so no system-wide my.cnf is read."""
    fd, name = tempfile.mkstemp(prefix="sharestack-", suffix=".cnf")
    try:
        lines = ["[client]", f"user={_opt(spec.user)}", f"password={_opt(spec.password)}"]
        if spec.socket:
            lines += [f"socket={_opt(spec.socket)}", "protocol=socket"]
        else:
            lines += [f"host={_opt(spec.host)}", f"port={spec.port}", "protocol=tcp"]
        with os.fdopen(fd, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        yield Path(name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


def _opt(value: str) -> str:
    # Option files unescape backslashes inside quotes; quoting keeps '#' and spaces literal.
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
