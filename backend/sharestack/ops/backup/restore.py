"""Full and point-in-time restores into a target server, and verification on a scratch server.

Order of a restore, chosen so that a bad input never damages the target:
1. the backup's integrity (manifest, size, sha256, gzip CRC, completion line);
2. for a point in time, the replay script is rendered from the binlog archive (and checked to
   reach the target GTID);
3. the target database is refused if it holds tables, unless ``replace`` was asked for;
only then is anything written.
"""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pymysql

from sharestack.ops.backup.binlog import archived_files, gtid_before, write_replay_script
from sharestack.ops.backup.dump import table_stats
from sharestack.ops.backup.manifest import ARCHIVE, Manifest, TableStats, check_integrity
from sharestack.ops.backup.progress import Progress
from sharestack.ops.backup.server import (
    BackupError,
    Flavor,
    ServerSpec,
    gtid_position,
    option_file,
    query_value,
    server_flavor,
    tool,
)

_DB_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_TIME = "%Y-%m-%d %H:%M:%S"


@dataclass
class RestoreResult:
    database: str
    load_seconds: float
    replay_seconds: float = 0.0
    gtid_after: str = ""
    tables: dict[str, TableStats] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)


def compare(manifest: Manifest, actual: dict[str, TableStats], checksums: bool) -> list[str]:
    problems = []
    for name in sorted(set(manifest.tables) | set(actual)):
        want, got = manifest.tables.get(name), actual.get(name)
        if want is None or got is None:
            problems.append(
                f"{name}: {'missing from the restore' if got is None else 'not in the backup'}"
            )
        elif want.rows != got.rows:
            problems.append(f"{name}: {got.rows} rows, the manifest says {want.rows}")
        elif checksums and want.checksum != got.checksum:
            problems.append(f"{name}: checksum {got.checksum}, the manifest says {want.checksum}")
    return problems


def _feed(
    argv: list[str], source: Path, prefix: bytes, what: str, total: int | None, compressed: bool
) -> float:
    """Pipe an SQL file (optionally gzip) into the mysql/mariadb client, with progress."""
    progress = Progress(what, total)
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors
        )
        assert proc.stdin is not None
        done = 0
        try:
            proc.stdin.write(prefix)
            with gzip.open(source, "rb") if compressed else source.open("rb") as handle:
                while block := handle.read(1 << 16):
                    proc.stdin.write(block)
                    done += len(block)
                    progress.update(done)
            proc.stdin.close()
        except BrokenPipeError:
            pass  # the client stopped reading: its exit status and stderr say why
        rc = proc.wait()
        if rc != 0:
            errors.seek(0)
            raise BackupError(
                f"{what} failed (exit {rc}): {errors.read().decode(errors='replace')[-2000:]}"
            )
    progress.update(done, "done", force=True)
    return progress.elapsed()


def restore(
    backup: Path,
    target: ServerSpec,
    database: str | None = None,
    *,
    binlog_dir: Path | None = None,
    until_time: str | None = None,
    until_gtid: str | None = None,
    latest: bool = False,
    replace: bool = False,
) -> RestoreResult:
    manifest = check_integrity(backup)
    database = database or manifest.database
    if not _DB_NAME.match(database):
        raise BackupError(f"invalid database name {database!r}")
    point_in_time = bool(until_time or until_gtid or latest)
    if sum(bool(x) for x in (until_time, until_gtid, latest)) > 1:
        raise BackupError("give one of --until-time, --until-gtid, --latest")

    conn = target.connect()
    try:
        flavor, version = server_flavor(conn)
        if flavor.value != manifest.flavor:
            raise BackupError(f"the backup is from {manifest.flavor}, the target runs {version}")
        with tempfile.TemporaryDirectory(prefix="sharestack-restore-") as work:
            replay: Path | None = None
            if point_in_time:
                replay = _prepare_replay(
                    manifest, flavor, binlog_dir, until_time, until_gtid, database, Path(work)
                )
            existing = int(
                query_value(
                    conn,
                    "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s",
                    (database,),
                )
            )
            if existing and not replace:
                raise BackupError(
                    f"database {database!r} on {target.label} holds {existing} tables; "
                    "restore into an empty database, or pass --replace to overwrite it"
                )
            print(f"restore: {backup.name} → {database} on {target.label}", file=sys.stderr)
            with conn.cursor() as cur:
                if existing:
                    cur.execute(f"DROP DATABASE `{database}`")
                cur.execute(
                    f"CREATE DATABASE IF NOT EXISTS `{database}` "
                    "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                )
            client = tool("client", flavor)
            with option_file(target) as defaults:
                base = [client, f"--defaults-file={defaults}", "--default-character-set=utf8mb4"]
                # The load is not binary-logged (mysqldump writes this itself for MySQL): the
                # restored server's GTID state stays the source's, and replicas are seeded from
                # the same backup rather than from the load.
                prefix = b"SET SESSION sql_log_bin = 0;\n" if flavor is Flavor.MARIADB else b""
                result = RestoreResult(
                    database=database,
                    load_seconds=_feed(
                        [*base, database],
                        backup / ARCHIVE,
                        prefix,
                        "restore",
                        manifest.sql_bytes,
                        True,
                    ),
                )
                if replay is not None:
                    # Replayed transactions keep their original GTIDs in the target's binlog.
                    result.replay_seconds = _feed(
                        [*base, "--binary-mode"],
                        replay,
                        b"",
                        "binlog replay",
                        replay.stat().st_size,
                        False,
                    )
        result.gtid_after = gtid_position(conn, flavor)
        tables = [
            str(r[0])
            for r in _rows(
                conn,
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s "
                "AND TABLE_TYPE='BASE TABLE' ORDER BY TABLE_NAME",
                database,
            )
        ]
        table_stats(conn, database, tables, result.tables)
        if not point_in_time:
            result.mismatches = compare(manifest, result.tables, _same_engine(manifest, version))
        return result
    finally:
        conn.close()


def _rows(conn: pymysql.connections.Connection[Any], sql: str, arg: str) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(sql, (arg,))
        return list(cur.fetchall())


def _same_engine(manifest: Manifest, version: str) -> bool:
    """CHECKSUM TABLE values are comparable between servers of the same flavour and major.minor
    version; across versions only row counts are compared."""
    return manifest.server_version.split(".")[:2] == version.split(".")[:2]


def _prepare_replay(
    manifest: Manifest,
    flavor: Flavor,
    binlog_dir: Path | None,
    until_time: str | None,
    until_gtid: str | None,
    database: str,
    work: Path,
) -> Path:
    if binlog_dir is None:
        raise BackupError("a point-in-time restore needs the binlog archive (--binlog-dir)")
    if until_time:
        try:
            when = datetime.strptime(until_time, _TIME).replace(tzinfo=UTC)
        except ValueError:
            raise BackupError(
                f"--until-time must be 'YYYY-MM-DD HH:MM:SS' in UTC, not {until_time!r}"
            ) from None
        if when < datetime.fromisoformat(manifest.created_at):
            raise BackupError(
                f"{until_time} UTC is before this backup was taken ({manifest.created_at}); "
                "use an older backup"
            )
    if until_gtid and flavor is Flavor.MARIADB and gtid_before(until_gtid, manifest.gtid):
        raise BackupError(
            f"GTID {until_gtid} is before this backup's position {manifest.gtid}; "
            "use an older backup"
        )
    return write_replay_script(
        flavor,
        archived_files(binlog_dir),
        manifest.gtid,
        work / "replay.sql",
        until_time=until_time,
        until_gtid=until_gtid,
        rewrite_db=(manifest.database, database),
    )


def verify(backup: Path, scratch: ServerSpec, keep: bool = False) -> RestoreResult:
    """Load the backup into a new database on a scratch server and compare it with its manifest;
    the scratch database is dropped afterwards unless ``keep``."""
    manifest = Manifest.read(backup)
    name = f"verify_{manifest.database}_{datetime.now(UTC):%Y%m%d%H%M%S}"[:64]
    result = restore(backup, scratch, name)
    if not keep:
        conn = scratch.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            conn.close()
    return result
