"""The manifest written beside every dump, and the integrity check that guards every restore."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sharestack.ops.backup.server import BackupError

MANIFEST = "manifest.json"
ARCHIVE = "dump.sql.gz"
FORMAT_VERSION = 1
# Both mysqldump and mariadb-dump end a dump that ran to completion with this line.
DUMP_TRAILER = b"-- Dump completed"


class BackupRejected(BackupError):
    """The backup is incomplete or damaged; nothing was touched."""


@dataclass
class TableStats:
    rows: int
    checksum: int | None


@dataclass
class Manifest:
    created_at: str
    finished_at: str
    database: str
    flavor: str
    server_version: str
    server_id: int
    source: str
    source_role: str
    gtid: str
    binlog_file: str | None
    binlog_position: int | None
    archive_bytes: int
    archive_sha256: str
    sql_bytes: int
    dump_seconds: float
    tables: dict[str, TableStats] = field(default_factory=dict)
    format: int = FORMAT_VERSION

    def write(self, directory: Path) -> None:
        tmp = directory / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        # The manifest appears last and atomically: a directory with one is complete.
        os.replace(tmp, directory / MANIFEST)

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST
        try:
            raw: dict[str, Any] = json.loads(path.read_text())
        except FileNotFoundError:
            raise BackupRejected(
                f"{directory}: no {MANIFEST}; the backup did not finish and cannot be restored"
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BackupRejected(f"{path}: unreadable manifest ({exc})") from exc
        if raw.get("format") != FORMAT_VERSION:
            raise BackupRejected(f"{path}: manifest format {raw.get('format')!r} is not supported")
        try:
            raw["tables"] = {name: TableStats(**stats) for name, stats in raw["tables"].items()}
            return cls(**raw)
        except (KeyError, TypeError) as exc:
            raise BackupRejected(f"{path}: incomplete manifest ({exc})") from exc


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def check_integrity(directory: Path) -> Manifest:
    """Refuse a backup that is not byte-for-byte what was written, BEFORE any restore touches a
    server: size and sha256 of the archive against the manifest, then a full decompression
    (gzip CRC and length trailer), the uncompressed size, and the dump's completion line."""
    manifest = Manifest.read(directory)
    archive = directory / ARCHIVE
    if not archive.exists():
        raise BackupRejected(f"{archive}: missing")
    size = archive.stat().st_size
    if size != manifest.archive_bytes:
        raise BackupRejected(
            f"{archive}: {size} bytes, the manifest says {manifest.archive_bytes}: the archive is "
            "truncated or was replaced; refusing to restore it"
        )
    actual = sha256_file(archive)
    if actual != manifest.archive_sha256:
        raise BackupRejected(
            f"{archive}: sha256 {actual} does not match the manifest's {manifest.archive_sha256}: "
            "the archive is corrupt; refusing to restore it"
        )
    total, tail = 0, b""
    try:
        with gzip.open(archive, "rb") as handle:
            while block := handle.read(1 << 20):
                total += len(block)
                tail = (tail + block)[-4096:]
    except (OSError, EOFError, zlib.error) as exc:
        raise BackupRejected(
            f"{archive}: gzip stream is damaged ({exc}); refusing to restore it"
        ) from exc
    if total != manifest.sql_bytes:
        raise BackupRejected(
            f"{archive}: {total} bytes of SQL, the manifest says {manifest.sql_bytes}; refusing"
        )
    if DUMP_TRAILER not in tail:
        raise BackupRejected(f"{archive}: the dump has no completion line; it was cut short")
    return manifest
