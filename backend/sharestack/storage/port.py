"""The storage port. Adapters: ``local.LocalStorage`` (a directory, the media volume) and
``s3.S3Storage`` (any S3-compatible service: AWS S3, Aliyun OSS, Tencent COS, MinIO).

Writes are all-or-nothing: a reader never sees half a file under a key, and a failed or cancelled
write leaves nothing behind. Callers use content-addressed keys, so writing a key that exists
is allowed and changes nothing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

# Lower-case path segments of letters, digits, dots, dashes and underscores: no "..", no leading
# slash, nothing a filesystem or an S3 URL would read differently.
_KEY = re.compile(r"^[a-z0-9_-]+(?:/[a-z0-9_-][a-z0-9._-]*)*$")


class InvalidKey(ValueError):
    pass


class StoredObjectMissing(LookupError):
    pass


def check_key(key: str) -> str:
    if len(key) > 512 or not _KEY.match(key) or ".." in key:
        raise InvalidKey(key)
    return key


class Storage(Protocol):
    name: str

    async def put(self, key: str, data: bytes, content_type: str, cache_control: str) -> None:
        """Store ``data`` under ``key`` atomically (an existing key is left as it is)."""

    async def get(self, key: str) -> bytes:
        """The bytes under ``key``; :class:`StoredObjectMissing` when there are none."""

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None:
        """Remove ``key``; a key that is already gone is not an error."""

    def local_path(self, key: str) -> Path | None:
        """The file on this host's disk, for adapters that have one (served by nginx)."""

    async def signed_url(self, key: str, expires_seconds: int) -> str | None:
        """A URL that reads ``key`` until it expires, for adapters that can sign one."""

    async def check(self) -> None:
        """Raise when the storage cannot be reached (readiness)."""

    async def aclose(self) -> None: ...
