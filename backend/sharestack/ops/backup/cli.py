"""``python -m sharestack.ops.backup``: backups, binlog archiving, restores, verification.

Connection URLs (``mysql://user:password@host:port/database``) come from options or from the
environment, so that compose can pass secrets without putting them on a command line:

    BACKUP_DIR                 backup root (default ./var/backups)
    BACKUP_SOURCE_URLS         comma-separated; a healthy replica is preferred, then the primary
                               (account: backup)
    BACKUP_BINLOG_SOURCE_URL   the primary, for binlog archiving (account: repl)
    BACKUP_TARGET_URL          restore target (an administrative account of that server)
    BACKUP_SCRATCH_URL         scratch server for verify
    BACKUP_KEEP_DAYS / BACKUP_KEEP_MIN   retention (default 14 days, at least 3 backups)

Exit status: 0 success, 1 failure, 2 backup refused as corrupt or incomplete, 3 verify found
differences from the manifest.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from sharestack.ops.backup.binlog import archive_forever, archive_once
from sharestack.ops.backup.dump import take_backup
from sharestack.ops.backup.manifest import BackupRejected, Manifest, check_integrity
from sharestack.ops.backup.restore import RestoreResult, restore, verify
from sharestack.ops.backup.retention import complete_backups, prune
from sharestack.ops.backup.server import BackupError, ServerSpec


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name) or default


def _require(value: str | None, what: str) -> str:
    if not value:
        raise BackupError(f"{what} is required")
    return value


def _resolve(backup_dir: Path, name: str) -> Path:
    """A backup by path, by its stamp under full/, or ``latest``."""
    if name == "latest":
        backups = complete_backups(backup_dir)
        if not backups:
            raise BackupError(f"no complete backup under {backup_dir / 'full'}")
        return backups[-1]
    path = Path(name)
    return path if path.is_dir() else backup_dir / "full" / name


def _report(result: RestoreResult) -> None:
    print(
        json.dumps(
            {
                "database": result.database,
                "load_seconds": round(result.load_seconds, 3),
                "replay_seconds": round(result.replay_seconds, 3),
                "gtid_after": result.gtid_after,
                "rows": sum(t.rows for t in result.tables.values()),
                "mismatches": result.mismatches,
            }
        )
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sharestack.ops.backup",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(_env("BACKUP_DIR", "var/backups") or "."),
        help="backup root (BACKUP_DIR)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("backup", help="take a full consistent backup now")
    p.add_argument("--source", action="append", help="source URL, repeatable (BACKUP_SOURCE_URLS)")
    p.add_argument("--database", help="database (default: the URL's)")

    p = sub.add_parser("archive-binlogs", help="stream the primary's binary logs into the archive")
    p.add_argument("--source", help="primary URL, repl account (BACKUP_BINLOG_SOURCE_URL)")
    p.add_argument("--once", action="store_true", help="copy up to the current end and exit")

    for name, text in (
        ("restore", "restore a backup into a target server"),
        ("verify", "load a backup into a scratch server and compare it with its manifest"),
        ("check", "check a backup's integrity without loading it"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("backup", help="backup directory, its stamp, or 'latest'")
        if name == "restore":
            p.add_argument(
                "--target", help="target URL, administrative account (BACKUP_TARGET_URL)"
            )
            p.add_argument("--database", help="database to restore into (default: the backup's)")
            point = p.add_mutually_exclusive_group()
            point.add_argument(
                "--until-time", help="UTC 'YYYY-MM-DD HH:MM:SS': replay binlogs before it"
            )
            point.add_argument("--until-gtid", help="replay binlogs up to and including this GTID")
            point.add_argument("--latest", action="store_true", help="replay every archived binlog")
            p.add_argument(
                "--replace", action="store_true", help="overwrite a non-empty target database"
            )
        if name == "verify":
            p.add_argument("--scratch", help="scratch server URL (BACKUP_SCRATCH_URL)")
            p.add_argument("--keep", action="store_true", help="keep the scratch database")

    p = sub.add_parser("prune", help="apply the retention policy")
    p.add_argument("--keep-days", type=int, default=int(_env("BACKUP_KEEP_DAYS", "14") or 14))
    p.add_argument("--keep-min", type=int, default=int(_env("BACKUP_KEEP_MIN", "3") or 3))

    sub.add_parser("list", help="list complete backups")
    return parser


def run(args: argparse.Namespace) -> int:
    backup_dir: Path = args.dir
    if args.command == "backup":
        urls = args.source or [
            u for u in (_env("BACKUP_SOURCE_URLS") or "").split(",") if u.strip()
        ]
        specs = [ServerSpec.from_url(u) for u in urls]
        if not specs:
            raise BackupError("no source: --source or BACKUP_SOURCE_URLS")
        path, _ = take_backup(specs, backup_dir, args.database)
        print(path)
        return 0
    if args.command == "archive-binlogs":
        spec = ServerSpec.from_url(
            _require(args.source or _env("BACKUP_BINLOG_SOURCE_URL"), "--source")
        )
        if args.once:
            files = archive_once(spec, backup_dir / "binlog")
            print(f"{len(files)} binlog files in {backup_dir / 'binlog'}")
            return 0
        return archive_forever(spec, backup_dir / "binlog")
    if args.command == "check":
        manifest = check_integrity(_resolve(backup_dir, args.backup))
        print(f"ok: {manifest.database} at GTID {manifest.gtid}, {len(manifest.tables)} tables")
        return 0
    if args.command == "restore":
        target = ServerSpec.from_url(_require(args.target or _env("BACKUP_TARGET_URL"), "--target"))
        result = restore(
            _resolve(backup_dir, args.backup),
            target,
            args.database,
            binlog_dir=backup_dir / "binlog",
            until_time=args.until_time,
            until_gtid=args.until_gtid,
            latest=args.latest,
            replace=args.replace,
        )
        _report(result)
        return 3 if result.mismatches else 0
    if args.command == "verify":
        scratch = ServerSpec.from_url(
            _require(args.scratch or _env("BACKUP_SCRATCH_URL"), "--scratch")
        )
        result = verify(_resolve(backup_dir, args.backup), scratch, keep=args.keep)
        _report(result)
        for line in result.mismatches:
            print(f"verify: {line}", file=sys.stderr)
        return 3 if result.mismatches else 0
    if args.command == "prune":
        prune(backup_dir, args.keep_days, args.keep_min)
        return 0
    if args.command == "list":
        for path in complete_backups(backup_dir):
            m = Manifest.read(path)
            rows = sum(t.rows for t in m.tables.values())
            print(
                f"{path.name}  {m.database}  gtid={m.gtid}  rows={rows}  "
                f"{m.archive_bytes / 1e6:.1f} MB  from {m.source_role}"
            )
        return 0
    raise AssertionError(args.command)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except BackupRejected as exc:
        print(f"REFUSED: {exc}", file=sys.stderr)
        return 2
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
