"""The local adapter: files under one directory (the ``media-files`` volume that nginx reads).

A write goes to a temporary file in the key's own directory and is renamed into place
(``os.replace`` is atomic on one filesystem), so a crash, a full disk or a cancelled request
leaves no half-written file under a real key; the temporary file is removed on every failure.
Blocking file calls run in a thread so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path

from sharestack.storage.port import StoredObjectMissing, check_key

TEMP_PREFIX = ".partial-"


class LocalStorage:
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    async def put(self, key: str, data: bytes, content_type: str, cache_control: str) -> None:
        path = self._path(key)
        # Shielded: once started, the rename or the clean-up completes even if the request is
        # cancelled (a client that hangs up), so nothing half-written is left behind.
        await asyncio.shield(asyncio.to_thread(_write_atomically, path, data))

    async def get(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError as exc:
            raise StoredObjectMissing(key) from exc

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(path.unlink, missing_ok=True)

    async def signed_url(self, key: str, expires_seconds: int) -> str | None:
        return None  # nginx serves protected files after the API's check (X-Accel-Redirect)

    async def check(self) -> None:
        await asyncio.to_thread(_check_writable, self.root)

    async def aclose(self) -> None:
        return None


def _write_atomically(path: Path, data: bytes) -> None:
    if path.is_file():
        return  # content-addressed: the same key holds the same bytes
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o644)  # readable by nginx, which runs as another user
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def _check_writable(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    if not os.access(root, os.W_OK):
        raise PermissionError(f"media directory {root} is not writable")
