"""Binary-log archiving (continuous, for point-in-time recovery) and replay-script generation.

The archiver connects like a replica (the ``repl`` account) and streams the primary's binary logs
as raw files into the archive, so that the archive trails the primary by milliseconds and a lost
primary loses at most what it had not yet sent.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from sharestack.ops.backup.server import (
    BackupError,
    Flavor,
    ServerSpec,
    option_file,
    query_dicts,
    server_flavor,
    tool,
)

_BINLOG_NAME = re.compile(r"^[A-Za-z0-9_.-]+\.\d{6,}$")
# Server id the archiver announces to the primary: must differ from every real server's id.
ARCHIVER_SERVER_ID = 4_000_000_001


def archived_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(
        (p for p in directory.iterdir() if _BINLOG_NAME.match(p.name)),
        key=lambda p: (p.name.rsplit(".", 1)[0], int(p.name.rsplit(".", 1)[1])),
    )


def _start_file(spec: ServerSpec, directory: Path) -> tuple[Flavor, str]:
    conn = spec.connect()
    try:
        flavor, _ = server_flavor(conn)
        on_server = [str(r["Log_name"]) for r in query_dicts(conn, "SHOW BINARY LOGS")]
    finally:
        conn.close()
    if not on_server:
        raise BackupError(f"{spec.label} has no binary logs (log_bin is off?)")
    have = archived_files(directory)
    if not have:
        return flavor, on_server[0]
    last = have[-1].name
    if last in on_server:
        # The newest archived file may be partial: fetch it again from its start.
        return flavor, last
    print(
        f"binlog: {last} is no longer on {spec.label}; continuing from {on_server[0]} "
        "(check for a gap: point-in-time recovery needs every file)",
        file=sys.stderr,
    )
    return flavor, on_server[0]


def archive_command(
    flavor: Flavor, defaults: Path, directory: Path, start: str, follow: bool
) -> list[str]:
    argv = [
        tool("binlog", flavor),
        f"--defaults-file={defaults}",
        "--read-from-remote-server",
        "--raw",
        f"--result-file={directory}/",
        "--to-last-log",
    ]
    if follow:
        argv += ["--stop-never", f"--stop-never-slave-server-id={ARCHIVER_SERVER_ID}"]
    return [*argv, start]


def archive_once(spec: ServerSpec, directory: Path) -> list[Path]:
    """Copy every binary log from the newest archived one up to the server's current end."""
    directory.mkdir(parents=True, exist_ok=True)
    flavor, start = _start_file(spec, directory)
    with option_file(spec) as defaults:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            archive_command(flavor, defaults, directory, start, follow=False),
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        raise BackupError(f"binlog copy failed: {result.stderr.strip()}")
    return archived_files(directory)


def archive_forever(spec: ServerSpec, directory: Path, retry_seconds: float = 5.0) -> int:
    """Stream binary logs until SIGTERM/SIGINT; reconnects (from the newest archived file) when
    the primary restarts or the network drops."""
    directory.mkdir(parents=True, exist_ok=True)
    child: subprocess.Popen[bytes] | None = None
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        try:
            flavor, start = _start_file(spec, directory)
            with option_file(spec) as defaults:
                print(
                    f"binlog: streaming from {spec.label} starting at {start}",
                    file=sys.stderr,
                    flush=True,
                )
                child = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                    archive_command(flavor, defaults, directory, start, follow=True)
                )
                # The option file may go once the client has read it at start-up.
                time.sleep(1.0)
            rc = child.wait()
            if not stopping:
                print(
                    f"binlog: stream ended (exit {rc}); retrying in {retry_seconds:.0f} s",
                    file=sys.stderr,
                )
        except BackupError as exc:
            print(f"binlog: {exc}; retrying in {retry_seconds:.0f} s", file=sys.stderr, flush=True)
        if not stopping:
            time.sleep(retry_seconds)
    return 0


def _gtid_map(position: str) -> dict[str, int]:
    """MariaDB GTID position ``d-s-n,d-s-n`` → {domain: seq}."""
    result: dict[str, int] = {}
    for item in filter(None, (p.strip() for p in position.split(","))):
        domain, _server, seq = item.split("-")
        result[domain] = int(seq)
    return result


def _check_coverage(files: Sequence[Path], start_gtid: str) -> None:
    """MariaDB: the first archived file must begin at or before the backup's GTID position,
    otherwise transactions between the two are missing and a replay would silently skip them."""
    head = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [tool("binlog", Flavor.MARIADB), "--no-defaults", str(files[0])],
        capture_output=True,
        text=True,
        check=False,
    ).stdout[:20000]
    match = re.search(r"Gtid list \[([^\]]*)\]", head)
    if match is None:
        return
    before_first = _gtid_map(match.group(1))
    have = _gtid_map(start_gtid)
    for domain, seq in before_first.items():
        if have.get(domain, 0) < seq:
            raise BackupError(
                f"the binlog archive starts after GTID {domain}-…-{seq}, but the backup is at "
                f"{start_gtid or '(empty)'}: transactions in between are missing from the archive"
            )


def write_replay_script(
    flavor: Flavor,
    files: Sequence[Path],
    start_gtid: str,
    out: Path,
    until_time: str | None = None,
    until_gtid: str | None = None,
    rewrite_db: tuple[str, str] | None = None,
) -> Path:
    """Render the archived binary logs after ``start_gtid`` (exclusive) up to the target
    (a GTID, inclusive; or a UTC time, exclusive, 1-second resolution) as SQL, into ``out``.

    Done before a restore touches its target, so an unreadable archive stops the restore early.
    """
    if not files:
        raise BackupError("the binlog archive is empty: a point-in-time restore needs it")
    argv = [tool("binlog", flavor), "--no-defaults"]
    if flavor is Flavor.MARIADB:
        _check_coverage(files, start_gtid)
        if start_gtid:
            argv.append(f"--start-position={start_gtid}")
        if until_gtid:
            argv.append(f"--stop-position={until_gtid}")
    else:
        if start_gtid:
            argv.append(f"--exclude-gtids={start_gtid}")
        if until_gtid:
            # MySQL has no stop-at-GTID; the target is given as the set to include (uuid:1-N).
            argv.append(f"--include-gtids={until_gtid}")
    if until_time:
        argv.append(f"--stop-datetime={until_time}")
    if rewrite_db and rewrite_db[0] != rewrite_db[1]:
        argv.append(f"--rewrite-db={rewrite_db[0]}->{rewrite_db[1]}")
    argv += [str(f) for f in files]
    # --stop-datetime is read in the local time zone of the process: pin it to UTC.
    env = {**os.environ, "TZ": "UTC"}
    with out.open("wb") as handle:
        result = subprocess.run(argv, stdout=handle, stderr=subprocess.PIPE, env=env, check=False)  # noqa: S603
    if result.returncode != 0:
        with contextlib.suppress(FileNotFoundError):
            out.unlink()
        raise BackupError(
            f"reading the binlog archive failed: {result.stderr.decode(errors='replace')[-2000:]}"
        )
    if until_gtid and flavor is Flavor.MARIADB:
        # Refuse a target the archive does not reach, rather than restoring to an earlier point.
        text = out.read_bytes()
        have = _gtid_map(start_gtid)
        for item in filter(None, (g.strip() for g in until_gtid.split(","))):
            domain, _server, seq = item.split("-")
            if int(seq) > have.get(domain, 0) and f"GTID {item} ".encode() not in text:
                raise BackupError(
                    f"GTID {item} is not in the binlog archive after {start_gtid or 'the start'}"
                )
    return out


def gtid_before(target: str, position: str) -> bool:
    """MariaDB: does ``target`` lie strictly before ``position`` (so a backup at ``position``
    cannot be rolled back to it)?"""
    have = _gtid_map(position)
    return any(seq < have.get(domain, 0) for domain, seq in _gtid_map(target).items())
