"""Retention: keep full backups for a number of days (and always the newest few), and the
archived binary logs that a kept backup may still need for a point-in-time restore."""

from __future__ import annotations

import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sharestack.ops.backup.binlog import archived_files
from sharestack.ops.backup.manifest import MANIFEST, Manifest


def complete_backups(backup_dir: Path) -> list[Path]:
    """Finished backups (with a manifest), oldest first."""
    full = backup_dir / "full"
    if not full.is_dir():
        return []
    return sorted(p for p in full.iterdir() if p.is_dir() and (p / MANIFEST).exists())


def prune(
    backup_dir: Path, keep_days: int, keep_min: int, now: datetime | None = None
) -> list[Path]:
    """Delete what the policy no longer keeps; returns the deleted paths.

    A binlog file whose last write is older than the oldest kept backup holds only transactions
    that every kept backup already contains, so no point-in-time restore can need it.
    """
    now = now or datetime.now(UTC)
    backups = complete_backups(backup_dir)
    cutoff = now - timedelta(days=keep_days)
    deleted: list[Path] = []
    keep = backups[-keep_min:] if keep_min > 0 else []
    for path in backups:
        if path in keep:
            continue
        if datetime.fromisoformat(Manifest.read(path).created_at) < cutoff:
            shutil.rmtree(path)
            deleted.append(path)
    # Left-over partial directories of crashed runs.
    full = backup_dir / "full"
    if full.is_dir():
        for path in full.iterdir():
            if path.name.endswith(".partial") and path.stat().st_mtime < cutoff.timestamp():
                shutil.rmtree(path)
                deleted.append(path)
    remaining = complete_backups(backup_dir)
    if remaining:
        oldest = datetime.fromisoformat(Manifest.read(remaining[0]).created_at).timestamp()
        files = archived_files(backup_dir / "binlog")
        # Never the newest file: the archiver may still be appending to it.
        for path in files[:-1]:
            if path.stat().st_mtime < oldest:
                path.unlink()
                deleted.append(path)
    for path in deleted:
        print(f"retention: deleted {path}", file=sys.stderr)
    return deleted
