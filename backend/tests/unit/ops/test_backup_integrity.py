"""The backup tool's integrity checks, URL handling and retention (no server needed)."""

from __future__ import annotations

import gzip
import hashlib
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sharestack.ops.backup.manifest import (
    BackupRejected,
    Manifest,
    TableStats,
    check_integrity,
)
from sharestack.ops.backup.retention import prune
from sharestack.ops.backup.server import ServerSpec, option_file

DUMP = b"-- MariaDB dump\nINSERT INTO t VALUES (1);\n" * 1000 + b"-- Dump completed on 2026-11-28\n"


def make_backup(root: Path, created: datetime, dump: bytes = DUMP) -> Path:
    directory = root / "full" / created.strftime("%Y%m%dT%H%M%S%fZ")
    directory.mkdir(parents=True)
    archive = directory / "dump.sql.gz"
    archive.write_bytes(gzip.compress(dump))
    Manifest(
        created_at=created.isoformat(),
        finished_at=created.isoformat(),
        database="sharestack",
        flavor="mariadb",
        server_version="10.11.19-MariaDB",
        server_id=2,
        source="backup@r:3306",
        source_role="replica",
        gtid="0-1-42",
        binlog_file="mysql-bin.000001",
        binlog_position=4,
        archive_bytes=archive.stat().st_size,
        archive_sha256=hashlib.sha256(archive.read_bytes()).hexdigest(),
        sql_bytes=len(dump),
        dump_seconds=0.1,
        tables={"t": TableStats(rows=1, checksum=7)},
    ).write(directory)
    return directory


def test_an_intact_backup_passes(tmp_path: Path) -> None:
    backup = make_backup(tmp_path, datetime.now(UTC))
    assert check_integrity(backup).gtid == "0-1-42"


def test_a_flipped_byte_is_refused(tmp_path: Path) -> None:
    backup = make_backup(tmp_path, datetime.now(UTC))
    data = bytearray((backup / "dump.sql.gz").read_bytes())
    data[len(data) // 2] ^= 1
    (backup / "dump.sql.gz").write_bytes(bytes(data))
    with pytest.raises(BackupRejected, match="sha256"):
        check_integrity(backup)


def test_a_truncated_archive_is_refused(tmp_path: Path) -> None:
    backup = make_backup(tmp_path, datetime.now(UTC))
    data = (backup / "dump.sql.gz").read_bytes()
    (backup / "dump.sql.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(BackupRejected, match="truncated"):
        check_integrity(backup)


def test_a_dump_cut_short_is_refused_even_with_a_matching_manifest(tmp_path: Path) -> None:
    backup = make_backup(tmp_path, datetime.now(UTC), dump=DUMP[:-40])
    with pytest.raises(BackupRejected, match="completion line"):
        check_integrity(backup)


def test_a_missing_manifest_is_refused(tmp_path: Path) -> None:
    backup = make_backup(tmp_path, datetime.now(UTC))
    (backup / "manifest.json").unlink()
    with pytest.raises(BackupRejected, match="did not finish"):
        check_integrity(backup)


def test_urls_keep_special_characters_in_passwords() -> None:
    spec = ServerSpec.from_url("mysql+asyncmy://backup:p%40ss%23w%27d@db.internal:3307/sharestack")
    assert (spec.user, spec.password, spec.host, spec.port, spec.database) == (
        "backup",
        "p@ss#w'd",
        "db.internal",
        3307,
        "sharestack",
    )


def test_credentials_go_to_a_private_option_file(tmp_path: Path) -> None:
    spec = ServerSpec.from_url("mysql://backup:s%22cr%5Cet@127.0.0.1:3306/x")
    with option_file(spec) as path:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert 'password="s\\"cr\\\\et"' in path.read_text()
    assert not path.exists()


def test_retention_keeps_recent_backups_and_the_binlogs_they_need(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    old = [make_backup(tmp_path, now - timedelta(days=d)) for d in (30, 20)]
    recent = [make_backup(tmp_path, now - timedelta(days=d)) for d in (3, 2, 1)]
    binlogs = tmp_path / "binlog"
    binlogs.mkdir()
    for n, age in ((1, 25), (2, 4), (3, 2.5), (4, 0)):
        path = binlogs / f"mysql-bin.{n:06d}"
        path.write_bytes(b"x")
        when = (now - timedelta(days=age)).timestamp()
        os.utime(path, (when, when))
    deleted = prune(tmp_path, keep_days=14, keep_min=2, now=now)
    assert set(deleted) == {*old, binlogs / "mysql-bin.000001", binlogs / "mysql-bin.000002"}
    assert all(p.exists() for p in recent)
    assert sorted(p.name for p in binlogs.iterdir()) == ["mysql-bin.000003", "mysql-bin.000004"]


def test_retention_always_keeps_the_newest_backups(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    backups = [make_backup(tmp_path, now - timedelta(days=d)) for d in (40, 30)]
    assert prune(tmp_path, keep_days=7, keep_min=3, now=now) == []
    assert all(p.exists() for p in backups)


def test_dump_flags_per_flavour(tmp_path: Path) -> None:
    from sharestack.ops.backup.dump import dump_command
    from sharestack.ops.backup.server import Flavor

    mariadb = dump_command(Flavor.MARIADB, tmp_path / "x.cnf", "sharestack")
    mysql = dump_command(Flavor.MYSQL, tmp_path / "x.cnf", "sharestack")
    for argv in (mariadb, mysql):
        assert argv[1] == f"--defaults-file={tmp_path / 'x.cnf'}"  # first: no system my.cnf
        assert "--single-transaction" in argv
        assert argv[-1] == "sharestack"
        assert "--databases" not in argv  # the restore picks the database name
    assert {"--master-data=2", "--gtid"} <= set(mariadb)
    assert {"--source-data=2", "--set-gtid-purged=ON"} <= set(mysql)
