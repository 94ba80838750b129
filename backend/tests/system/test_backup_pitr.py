"""Backup and point-in-time-recovery drill on real MariaDB processes.

Write data, back up (from the replica), write more, note T and the GTID, write more including a
"disaster", then restore to T (and to the GTID) into fresh servers: the tables must be exactly
what was committed before T — same row counts and CHECKSUM TABLE values — and nothing after.
Damaged backups must be refused before the target is touched. Timings are printed, not asserted.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.mariadb import (
    APP_DB,
    MariaDBFactory,
    MariaDBServer,
    mariadb_factory_fixture,  # noqa: F401 - provides the mariadb_factory fixture
)
from tests.support.processes import ManagedProcess, wait_until

pytestmark = pytest.mark.system

BACKEND = Path(__file__).resolve().parents[2]
TABLES = ("creator", "content", "payment")
FIGURES: dict[str, float] = {}


def cli(*args: str, backup_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sharestack.ops.backup", "--dir", str(backup_dir), *args],
        cwd=BACKEND,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def state(server: MariaDBServer, database: str = APP_DB) -> dict[str, tuple[int, int]]:
    """(rows, CHECKSUM TABLE) per table."""
    result = {}
    for table in TABLES:
        rows = server.scalar(f"SELECT COUNT(*) FROM `{database}`.`{table}`")
        checksum = server.query(f"CHECKSUM TABLE `{database}`.`{table}`")[0][1]
        result[table] = (int(rows), int(checksum))
    return result


def seed(primary: MariaDBServer, rows: int) -> None:
    primary.query(
        "CREATE TABLE creator (id BIGINT PRIMARY KEY AUTO_INCREMENT, handle VARCHAR(64) NOT NULL, "
        "display_name VARCHAR(200) NOT NULL, created_at DATETIME(6) NOT NULL) ENGINE=InnoDB",
        database=APP_DB,
    )
    primary.query(
        "CREATE TABLE content (id BIGINT PRIMARY KEY AUTO_INCREMENT, creator_id BIGINT NOT NULL, "
        "title VARCHAR(200) NOT NULL, body TEXT NOT NULL, batch CHAR(1) NOT NULL, "
        "KEY ix_content_creator (creator_id)) ENGINE=InnoDB",
        database=APP_DB,
    )
    primary.query(
        "CREATE TABLE payment (id BIGINT PRIMARY KEY AUTO_INCREMENT, creator_id BIGINT NOT NULL, "
        "amount BIGINT NOT NULL, currency CHAR(3) NOT NULL, batch CHAR(1) NOT NULL) ENGINE=InnoDB",
        database=APP_DB,
    )
    primary.query(
        "INSERT INTO creator (handle, display_name, created_at) "
        "SELECT CONCAT('c', seq), CONCAT('创作者 ', seq, ' 🎨'), NOW(6) FROM seq_1_to_200",
        database=APP_DB,
    )
    primary.query(
        "INSERT INTO content (creator_id, title, body, batch) SELECT 1 + seq % 200, "
        f"CONCAT('标题 ', seq), REPEAT('订阅内容 ✓ ', 20), '0' FROM seq_1_to_{int(rows)}",
        database=APP_DB,
    )
    primary.query(
        "INSERT INTO payment (creator_id, amount, currency, batch) "
        f"SELECT 1 + seq % 200, 100 * seq, 'EUR', '0' FROM seq_1_to_{int(rows)}",
        database=APP_DB,
    )


def write_batch(primary: MariaDBServer, tag: str, n: int, k: int) -> None:
    """Inserts, updates and deletes, several transactions."""
    for i in range(5):
        primary.query(
            "INSERT INTO content (creator_id, title, body, batch) SELECT 1 + seq %% 200, "
            f"CONCAT(%s, seq), 'later ✓', %s FROM seq_1_to_{int(n)}",
            (f"{tag}{i}-", tag),
            database=APP_DB,
        )
    primary.query(
        "UPDATE payment SET amount = amount + 1 WHERE id %% 7 = %s", (k,), database=APP_DB
    )
    primary.query(
        "INSERT INTO payment (creator_id, amount, currency, batch) VALUES (1, 999, 'USD', %s)",
        (tag,),
        database=APP_DB,
    )
    primary.query("DELETE FROM content WHERE id %% 11 = %s", (k,), database=APP_DB)


@pytest.fixture(scope="module")
def drill(
    mariadb_factory: MariaDBFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, object]]:
    """Runs the drill's write/backup/write sequence once; the tests restore from it."""
    factory = mariadb_factory
    primary, replica = factory.pair("pitr")
    backup_dir = tmp_path_factory.mktemp("backups")
    archiver = ManagedProcess(
        "binlog-archiver",
        [
            sys.executable,
            "-m",
            "sharestack.ops.backup",
            "--dir",
            str(backup_dir),
            "archive-binlogs",
            "--source",
            primary.url("repl", driver="mysql"),
        ],
        backup_dir.parent / "archiver.log",
        cwd=BACKEND,
    ).start()
    try:
        seed(primary, 20_000)
        replica.wait_for_gtid(primary.gtid_binlog_pos())
        started = time.perf_counter()
        result = cli(
            "backup",
            "--source",
            replica.url("backup", driver="mysql"),
            "--source",
            primary.url("backup", driver="mysql"),
            backup_dir=backup_dir,
        )
        FIGURES["backup_seconds"] = time.perf_counter() - started
        assert result.returncode == 0, result.stderr
        backup = Path(result.stdout.strip().splitlines()[-1])
        manifest = json.loads((backup / "manifest.json").read_text())
        FIGURES["dump_sql_mb"] = manifest["sql_bytes"] / 1e6
        FIGURES["dump_gz_mb"] = manifest["archive_bytes"] / 1e6
        print("\n" + result.stderr)
        at_backup = state(primary)

        write_batch(primary, "a", 300, 1)
        # Binlog timestamps have 1-second resolution: keep T strictly between batches A and B.
        time.sleep(1.05)
        until_time = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        until_gtid = primary.gtid_binlog_pos()
        expected = state(primary)
        time.sleep(1.05)
        write_batch(primary, "b", 200, 2)
        primary.query("DELETE FROM payment WHERE id < 500", database=APP_DB)  # the disaster
        primary.query("UPDATE creator SET display_name = 'oops'", database=APP_DB)
        after = state(primary)

        status = primary.query("SHOW MASTER STATUS")[0]
        binlog = backup_dir / "binlog" / str(status[0])
        FIGURES["archive_catch_up_seconds"] = wait_until(
            lambda: binlog.exists() and binlog.stat().st_size >= int(status[1]),
            20,
            "archived binlog",
        )
        yield {
            "primary": primary,
            "replica": replica,
            "backup_dir": backup_dir,
            "backup": backup,
            "manifest": manifest,
            "at_backup": at_backup,
            "until_time": until_time,
            "until_gtid": until_gtid,
            "expected": expected,
            "after": after,
        }
    finally:
        archiver.stop()
        print("\nbackup/PITR figures:", {k: round(v, 3) for k, v in FIGURES.items()})


def test_backup_is_taken_from_the_replica_with_a_consistent_manifest(
    drill: dict[str, object],
) -> None:
    manifest = drill["manifest"]
    assert isinstance(manifest, dict)
    assert manifest["source_role"] == "replica"
    assert manifest["gtid"]
    at_backup = drill["at_backup"]
    assert isinstance(at_backup, dict)
    assert {t: (s["rows"], s["checksum"]) for t, s in manifest["tables"].items()} == at_backup


@pytest.mark.parametrize("point", ["time", "gtid"])
def test_restore_to_a_point_in_time_has_exactly_the_rows_committed_before_it(
    drill: dict[str, object], mariadb_factory: MariaDBFactory, point: str
) -> None:
    target = mariadb_factory.create(f"restore-{point}")
    arg = (
        ["--until-time", str(drill["until_time"])]
        if point == "time"
        else ["--until-gtid", str(drill["until_gtid"])]
    )
    started = time.perf_counter()
    result = cli(
        "restore",
        str(drill["backup"]),
        "--target",
        target.url("admin", driver="mysql"),
        *arg,
        backup_dir=Path(str(drill["backup_dir"])),
    )
    FIGURES[f"restore_pitr_{point}_seconds"] = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    FIGURES[f"restore_pitr_{point}_load_seconds"] = report["load_seconds"]
    FIGURES[f"restore_pitr_{point}_replay_seconds"] = report["replay_seconds"]
    restored = state(target)
    assert restored == drill["expected"]
    assert restored != drill["after"]
    # Nothing written after T: no batch-B rows, the disaster undone.
    assert target.scalar("SELECT COUNT(*) FROM content WHERE batch = 'b'", database=APP_DB) == 0
    assert target.scalar("SELECT COUNT(*) FROM payment WHERE batch = 'a'", database=APP_DB) == 1
    assert (
        target.scalar("SELECT COUNT(*) FROM creator WHERE display_name = 'oops'", database=APP_DB)
        == 0
    )
    if point == "gtid":
        assert target.gtid_binlog_pos() == drill["until_gtid"]
    target.stop()


def test_full_restore_matches_the_manifest(
    drill: dict[str, object], mariadb_factory: MariaDBFactory
) -> None:
    target = mariadb_factory.create("restore-full")
    started = time.perf_counter()
    result = cli(
        "restore",
        "latest",
        "--target",
        target.url("admin", driver="mysql"),
        backup_dir=Path(str(drill["backup_dir"])),
    )
    FIGURES["restore_full_seconds"] = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["mismatches"] == []
    assert state(target) == drill["at_backup"]
    # A second restore over a database that now holds tables is refused without --replace.
    again = cli(
        "restore",
        "latest",
        "--target",
        target.url("admin", driver="mysql"),
        backup_dir=Path(str(drill["backup_dir"])),
    )
    assert again.returncode == 1
    assert "pass --replace" in again.stderr
    target.stop()


def _damaged_copy(drill: dict[str, object], tmp_path: Path, how: str) -> Path:
    source = Path(str(drill["backup"]))
    copy = tmp_path / "backups" / "full" / source.name
    shutil.copytree(source, copy)
    archive = copy / "dump.sql.gz"
    data = bytearray(archive.read_bytes())
    if how == "corrupt":
        data[len(data) // 2] ^= 0xFF
        archive.write_bytes(bytes(data))
    elif how == "truncated":
        archive.write_bytes(bytes(data[: len(data) // 2]))
    elif how == "truncated-with-forged-manifest":
        # Even a manifest rewritten to match a cut archive is caught by the gzip check.
        import hashlib

        cut = bytes(data[: len(data) - 100])
        archive.write_bytes(cut)
        manifest = json.loads((copy / "manifest.json").read_text())
        manifest["archive_bytes"] = len(cut)
        manifest["archive_sha256"] = hashlib.sha256(cut).hexdigest()
        (copy / "manifest.json").write_text(json.dumps(manifest))
    elif how == "no-manifest":
        (copy / "manifest.json").unlink()
    return copy


@pytest.mark.parametrize(
    "how", ["corrupt", "truncated", "truncated-with-forged-manifest", "no-manifest"]
)
def test_damaged_backup_is_refused_before_the_target_is_touched(
    drill: dict[str, object], mariadb_factory: MariaDBFactory, tmp_path: Path, how: str
) -> None:
    target = mariadb_factory.create(f"damaged-{how}")
    # The target holds live data in the database the restore would overwrite.
    target.query("CREATE TABLE keep_me (id INT PRIMARY KEY, v VARCHAR(10))", database=APP_DB)
    target.query("INSERT INTO keep_me VALUES (1, 'intact')", database=APP_DB)
    copy = _damaged_copy(drill, tmp_path, how)
    result = cli(
        "restore",
        str(copy),
        "--target",
        target.url("admin", driver="mysql"),
        "--replace",
        "--until-time",
        str(drill["until_time"]),
        backup_dir=Path(str(drill["backup_dir"])),
    )
    assert result.returncode == 2, result.stderr
    assert "REFUSED" in result.stderr
    assert target.query("SELECT * FROM keep_me", database=APP_DB) == [(1, "intact")]
    assert (
        target.scalar(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s", (APP_DB,)
        )
        == 1
    )
    target.stop()


def test_verify_loads_into_a_scratch_server_and_compares(
    drill: dict[str, object], mariadb_factory: MariaDBFactory, tmp_path: Path
) -> None:
    scratch = mariadb_factory.create("scratch")
    started = time.perf_counter()
    result = cli(
        "verify",
        "latest",
        "--scratch",
        scratch.url("admin", driver="mysql"),
        backup_dir=Path(str(drill["backup_dir"])),
    )
    FIGURES["verify_seconds"] = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["mismatches"] == []
    # The scratch database is dropped afterwards.
    assert (
        scratch.scalar(
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'verify%%'"
        )
        == 0
    )

    # A manifest that disagrees with the dump's content is reported (exit 3).
    copy = _damaged_copy(drill, tmp_path, "intact")
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["tables"]["payment"]["rows"] += 1
    (copy / "manifest.json").write_text(json.dumps(manifest))
    mismatch = cli(
        "verify", str(copy), "--scratch", scratch.url("admin", driver="mysql"), backup_dir=tmp_path
    )
    assert mismatch.returncode == 3, mismatch.stderr
    assert "payment" in mismatch.stderr
    scratch.stop()


def test_restore_refuses_a_time_before_the_backup(
    drill: dict[str, object], mariadb_factory: MariaDBFactory
) -> None:
    target = mariadb_factory.create("too-early")
    result = cli(
        "restore",
        str(drill["backup"]),
        "--target",
        target.url("admin", driver="mysql"),
        "--until-time",
        "2000-01-01 00:00:00",
        backup_dir=Path(str(drill["backup_dir"])),
    )
    assert result.returncode == 1
    assert "before this backup was taken" in result.stderr
    target.stop()


def test_gzip_archive_is_a_complete_dump(drill: dict[str, object]) -> None:
    with gzip.open(Path(str(drill["backup"])) / "dump.sql.gz", "rt", encoding="utf-8") as handle:
        text = handle.read()
    assert "-- Dump completed" in text[-200:]
    assert "gtid_slave_pos" in text
    assert "CREATE DATABASE" not in text  # restores choose the database name


def test_backup_from_the_primary_under_concurrent_writes_matches_its_manifest(
    mariadb_factory: MariaDBFactory, tmp_path: Path
) -> None:
    """No replica: the backup comes from the primary while a writer keeps committing. The
    manifest (rows, checksums) must still describe exactly what the dump holds."""
    primary = mariadb_factory.create("busy-primary")
    scratch = mariadb_factory.create("busy-scratch")
    seed(primary, 5_000)
    stop = threading.Event()
    committed = [0]

    def writer() -> None:
        conn = primary.connect(database=APP_DB)
        with conn.cursor() as cur:
            while not stop.is_set():
                cur.execute(
                    "INSERT INTO payment (creator_id, amount, currency, batch) "
                    "VALUES (1, 1, 'EUR', 'w')"
                )
                cur.execute("UPDATE creator SET display_name = CONCAT('w', id) WHERE id = 1")
                committed[0] += 1
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        time.sleep(0.3)
        result = cli(
            "backup", "--source", primary.url("backup", driver="mysql"), backup_dir=tmp_path
        )
    finally:
        stop.set()
        thread.join()
    assert result.returncode == 0, result.stderr
    assert committed[0] > 0
    backup = Path(result.stdout.strip().splitlines()[-1])
    assert json.loads((backup / "manifest.json").read_text())["source_role"] == "primary"
    verify = cli(
        "verify",
        str(backup),
        "--scratch",
        scratch.url("admin", driver="mysql"),
        backup_dir=tmp_path,
    )
    assert verify.returncode == 0, verify.stderr
    print(
        "\nbackup under writes:", result.stderr.strip().splitlines()[-2:], committed[0], "commits"
    )
    primary.stop()
    scratch.stop()


def test_scheduled_entry_point_backs_up_at_once_archives_binlogs_and_stops_cleanly(
    mariadb_factory: MariaDBFactory, tmp_path: Path
) -> None:
    """deploy/backup/backup.sh schedule, as the compose backup service runs it."""
    primary = mariadb_factory.create("scheduled")
    seed(primary, 500)
    backup_dir = tmp_path / "backups"
    later = (datetime.now(UTC) + timedelta(hours=2)).strftime("%H:%M")
    proc = ManagedProcess(
        "backup-schedule",
        ["bash", str(BACKEND.parent / "deploy" / "backup" / "backup.sh"), "schedule"],
        tmp_path / "schedule.log",
        env={
            **os.environ,
            "PYTHON": sys.executable,
            "BACKUP_DIR": str(backup_dir),
            "BACKUP_SOURCE_URLS": primary.url("backup", driver="mysql"),
            "BACKUP_BINLOG_SOURCE_URL": primary.url("repl", driver="mysql"),
            "BACKUP_AT": later,
        },
        cwd=BACKEND,
    ).start()
    try:
        wait_until(lambda: any(backup_dir.glob("full/*/manifest.json")), 30, "first backup", proc)
        wait_until(lambda: any((backup_dir / "binlog").glob("mysql-bin.*")), 30, "binlogs", proc)
        wait_until(lambda: f"next full backup at {later}" in proc.tail(), 10, "schedule", proc)
    finally:
        proc.signal(signal.SIGTERM)
        code = proc.wait(10)
    assert code == 0, proc.tail()
    assert "stopping" in proc.tail()
    # The archiver went with it: nothing of this run is left streaming.
    leftovers = subprocess.run(
        ["pgrep", "-f", f"--dir {backup_dir} archive-binlogs"], capture_output=True, check=False
    )
    assert leftovers.stdout == b"", leftovers.stdout
    listed = cli("list", backup_dir=backup_dir)
    assert listed.returncode == 0
    assert "rows=" in listed.stdout
    primary.stop()


def test_one_shot_entry_point_with_compose_style_settings(
    mariadb_factory: MariaDBFactory, tmp_path: Path
) -> None:
    """`backup.sh` as the compose backup service calls it daily: host names and passwords in
    the environment (the backup password holds a quote, a backslash and an '@'), binlogs copied
    up to now, a full backup, retention applied."""
    primary = mariadb_factory.create("compose-style")
    seed(primary, 300)
    backup_dir = tmp_path / "backups"
    result = subprocess.run(
        ["bash", str(BACKEND.parent / "deploy" / "backup" / "backup.sh")],
        env={
            **os.environ,
            "PYTHON": sys.executable,
            "BACKUP_DIR": str(backup_dir),
            "BACKUP_PRIMARY_HOST": "127.0.0.1",
            "BACKUP_MYSQL_PORT": str(primary.port),
            "MYSQL_APP_DATABASE": APP_DB,
            "MYSQL_BACKUP_PASSWORD": primary.creds.backup,
            "MYSQL_REPLICATION_PASSWORD": primary.creds.repl,
            "BACKUP_RETENTION_DAYS": "7",
        },
        cwd=BACKEND,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "full backup done" in result.stderr
    assert list(backup_dir.glob("full/*/manifest.json"))
    assert list((backup_dir / "binlog").glob("mysql-bin.*"))
    primary.stop()
