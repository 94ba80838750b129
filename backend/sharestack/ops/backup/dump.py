"""Online, consistent full logical backup with a GTID position and a checked manifest.

Consistency of dump and manifest: the manifest's row counts and CHECKSUM TABLE values are taken
on our own connection inside a consistent snapshot that is opened under the same brief
FLUSH TABLES WITH READ LOCK as the dump's own snapshot. No transaction can commit while the lock
is held, so both snapshots — and the GTID position read under the lock — describe exactly the
same state. The lock is released as soon as the dump reports its binary-log position (which it
writes right after starting its snapshot); InnoDB's CHECKSUM TABLE reads through the snapshot.
On a replica the lock briefly pauses the applier; on a primary it briefly pauses commits.
"""

from __future__ import annotations

import contextlib
import gzip
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pymysql

from sharestack.ops.backup.manifest import ARCHIVE, DUMP_TRAILER, Manifest, TableStats, sha256_file
from sharestack.ops.backup.progress import Progress
from sharestack.ops.backup.server import (
    BackupError,
    Flavor,
    ServerSpec,
    gtid_position,
    option_file,
    query_dicts,
    query_value,
    replica_status,
    server_flavor,
    tool,
)

# The dump writes its binary-log coordinates (as a comment) right after it started its snapshot.
_POSITION_MARKERS = (
    b"-- CHANGE MASTER TO MASTER_LOG_FILE",
    b"-- CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE",
)
_TABLE_MARKER = re.compile(rb"-- Dumping data for table `([^`]+)`")
# A write that waits on our lock longer than this fails the backup rather than the application.
_LOCK_WAIT_SECONDS = 30


def choose_source(specs: Sequence[ServerSpec]) -> tuple[ServerSpec, Flavor, str, str]:
    """A healthy replica when one is configured (the primary is not loaded), else the primary.

    Returns (spec, flavor, version, role). A replica whose replication is stopped is skipped: its
    data may be arbitrarily old.
    """
    replicas: list[tuple[ServerSpec, Flavor, str]] = []
    primaries: list[tuple[ServerSpec, Flavor, str]] = []
    problems: list[str] = []
    for spec in specs:
        try:
            conn = spec.connect()
        except BackupError as exc:
            problems.append(str(exc))
            continue
        try:
            flavor, version = server_flavor(conn)
            status = replica_status(conn, flavor)
        finally:
            conn.close()
        if status is None:
            primaries.append((spec, flavor, version))
            continue
        io = status.get("Slave_IO_Running", status.get("Replica_IO_Running"))
        sql = status.get("Slave_SQL_Running", status.get("Replica_SQL_Running"))
        if io == "Yes" and sql == "Yes":
            replicas.append((spec, flavor, version))
        else:
            problems.append(f"{spec.label}: replication not running (IO {io}, SQL {sql}); skipped")
    for message in problems:
        print(f"backup: {message}", file=sys.stderr)
    if replicas:
        return (*replicas[0], "replica")
    if primaries:
        return (*primaries[0], "primary")
    raise BackupError("no usable backup source: " + "; ".join(problems))


def dump_command(flavor: Flavor, defaults: Path, database: str) -> list[str]:
    common = [
        "--single-transaction",
        "--quick",
        "--routines",
        "--triggers",
        "--events",
        "--hex-blob",
        "--default-character-set=utf8mb4",
    ]
    if flavor is Flavor.MARIADB:
        gtid = ["--master-data=2", "--gtid"]
    else:
        gtid = ["--source-data=2", "--set-gtid-purged=ON", "--no-tablespaces"]
    # No --databases: the dump carries no CREATE DATABASE/USE, so a restore (or a verify on a
    # scratch server) chooses the database it loads into.
    return [tool("dump", flavor), f"--defaults-file={defaults}", *common, *gtid, database]


def table_stats(
    conn: pymysql.connections.Connection[Any],
    database: str,
    tables: list[str],
    out: dict[str, TableStats],
) -> None:
    with conn.cursor() as cur:
        for table in tables:
            ident = f"`{database}`.`{table.replace('`', '``')}`"
            cur.execute(f"SELECT COUNT(*) FROM {ident}")  # noqa: S608 - identifier from information_schema
            counted = cur.fetchone()
            count = int(counted[0]) if counted else 0
            cur.execute(f"CHECKSUM TABLE {ident}")
            row = cur.fetchone()
            out[table] = TableStats(
                rows=count, checksum=None if row is None or row[1] is None else int(row[1])
            )


def take_backup(
    sources: Sequence[ServerSpec], backup_dir: Path, database: str | None = None
) -> tuple[Path, Manifest]:
    """Dump ``database`` from the best source into ``backup_dir/full/<stamp>``; a failed backup
    leaves nothing behind but an error."""
    spec, flavor, version, role = choose_source(sources)
    database = database or spec.database
    if not database:
        raise BackupError("no database given (the URL path or --database)")
    started = datetime.now(UTC)
    stamp = started.strftime("%Y%m%dT%H%M%S%fZ")
    final = backup_dir / "full" / stamp
    partial = backup_dir / "full" / f".{stamp}.partial"
    partial.mkdir(parents=True)
    try:
        return _dump_into(spec, flavor, version, role, database, started, partial, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def _dump_into(
    spec: ServerSpec,
    flavor: Flavor,
    version: str,
    role: str,
    database: str,
    started: datetime,
    partial: Path,
    final: Path,
) -> tuple[Path, Manifest]:
    print(f"backup: {database} from {role} {spec.label} ({version}) into {final}", file=sys.stderr)

    conn = spec.connect(read_timeout=None)
    stats: dict[str, TableStats] = {}
    try:
        server_id = int(query_value(conn, "SELECT @@server_id"))
        tables = [
            str(r["TABLE_NAME"])
            for r in query_dicts(
                conn,
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s "
                "AND TABLE_TYPE='BASE TABLE' ORDER BY TABLE_NAME",
                (database,),
            )
        ]
        if not query_value(
            conn,
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME=%s",
            (database,),
        ):
            raise BackupError(f"database {database!r} does not exist on {spec.label}")
        with conn.cursor() as cur:
            cur.execute(f"SET SESSION lock_wait_timeout = {_LOCK_WAIT_SECONDS}")
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cur.execute("FLUSH TABLES WITH READ LOCK")
        locked_at = time.monotonic()
        checker: threading.Thread | None = None
        try:
            with conn.cursor() as cur:
                cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            gtid = gtid_position(conn, flavor)
            status = query_dicts(conn, "SHOW MASTER STATUS")
            binlog_file = str(status[0]["File"]) if status else None
            binlog_pos = int(status[0]["Position"]) if status else None
            with option_file(spec) as defaults, tempfile.TemporaryFile() as errors:
                proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                    dump_command(flavor, defaults, database), stdout=subprocess.PIPE, stderr=errors
                )
                assert proc.stdout is not None
                archive = partial / ARCHIVE
                sql_bytes, tail, head, unlocked = 0, b"", b"", False
                progress = Progress("backup")
                done_tables = 0
                try:
                    with gzip.open(archive, "wb", compresslevel=6) as out:
                        while block := proc.stdout.read(1 << 16):
                            out.write(block)
                            sql_bytes += len(block)
                            window = tail[-256:] + block
                            tail = window[-4096:]
                            if not unlocked:
                                head += block
                                if any(m in head for m in _POSITION_MARKERS):
                                    conn.query("UNLOCK TABLES")
                                    unlocked = True
                                    paused_ms = (time.monotonic() - locked_at) * 1e3
                                    print(
                                        f"backup: snapshot at GTID {gtid or '(empty)'}; "
                                        f"writes paused {paused_ms:.0f} ms",
                                        file=sys.stderr,
                                    )
                                    checker = threading.Thread(
                                        target=table_stats,
                                        args=(conn, database, tables, stats),
                                        daemon=True,
                                    )
                                    checker.start()
                                elif len(head) > 1 << 20:
                                    raise BackupError(
                                        "the dump did not report its binary-log position"
                                    )
                            found = _TABLE_MARKER.findall(window)
                            if found:
                                done_tables += len(found)
                                current = found[-1].decode(errors="replace")
                                progress.update(
                                    sql_bytes,
                                    f"table {min(done_tables, len(tables))}/{len(tables)} "
                                    f"{current}",
                                )
                            else:
                                progress.update(sql_bytes)
                finally:
                    rc = proc.wait()
                    if not unlocked:
                        with contextlib.suppress(pymysql.err.MySQLError):
                            conn.query("UNLOCK TABLES")
                if rc != 0:
                    errors.seek(0)
                    raise BackupError(
                        f"dump failed (exit {rc}): {errors.read().decode(errors='replace')[-2000:]}"
                    )
                if DUMP_TRAILER not in tail:
                    raise BackupError("the dump ended without its completion line")
                if checker is None:
                    raise BackupError("the dump never reported its position")
                checker.join()
                progress.update(sql_bytes, "done", force=True)
        finally:
            if checker is not None and checker.is_alive():
                # The checksums share this connection; let them finish before it is reused.
                checker.join()
            with contextlib.suppress(pymysql.err.MySQLError):
                conn.rollback()
    finally:
        conn.close()

    if set(stats) != set(tables):
        raise BackupError("table checksums did not complete")
    finished = datetime.now(UTC)
    manifest = Manifest(
        created_at=started.isoformat(),
        finished_at=finished.isoformat(),
        database=database,
        flavor=flavor.value,
        server_version=version,
        server_id=server_id,
        source=spec.label,
        source_role=role,
        gtid=gtid,
        binlog_file=binlog_file,
        binlog_position=binlog_pos,
        archive_bytes=archive.stat().st_size,
        archive_sha256=sha256_file(archive),
        sql_bytes=sql_bytes,
        dump_seconds=round((finished - started).total_seconds(), 3),
        tables=stats,
    )
    manifest.write(partial)
    partial.rename(final)
    print(
        f"backup: done in {manifest.dump_seconds:.2f} s: {len(tables)} tables, "
        f"{sum(s.rows for s in stats.values())} rows, "
        f"{manifest.archive_bytes / 1e6:.2f} MB compressed",
        file=sys.stderr,
    )
    return final, manifest
