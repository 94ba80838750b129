"""Image decoding rules and the local storage adapter, without a server."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from PIL import Image

from sharestack.config import Settings
from sharestack.errors import AppError
from sharestack.media import images
from sharestack.storage import InvalidKey, StoredObjectMissing
from sharestack.storage.local import TEMP_PREFIX, LocalStorage
from tests.support import images as samples

LIMITS = images.Limits(max_bytes=10 * 1024 * 1024, max_pixels=50_000_000, max_dimension=16384)


def refused(data: bytes, declared: str | None = None) -> AppError:
    with pytest.raises(AppError) as caught:
        images.process_upload(data, declared, LIMITS)
    return caught.value


def test_orientation_is_applied_and_metadata_dropped() -> None:
    out = images.process_upload(samples.photo(64, 32), "image/jpeg", LIMITS)
    assert (out.width, out.height) == (32, 64)
    with Image.open(io.BytesIO(out.data)) as image:
        assert not image.getexif()
        assert "icc_profile" not in image.info
    assert b"ShareStack Camera" not in out.data


def test_transparency_survives_png_and_gif() -> None:
    png = images.process_upload(samples.encoded("PNG", mode="RGBA"), None, LIMITS)
    with Image.open(io.BytesIO(png.data)) as image:
        assert image.mode == "RGBA"
        assert image.getpixel((0, 0))[3] == 128  # type: ignore[index]


def test_bomb_is_refused_from_the_header() -> None:
    error = refused(samples.png_bomb(100_000))
    assert error.fields == {"file": "too_many_pixels"}


def test_side_limit() -> None:
    wide = samples.encoded("PNG", (20_000, 1), mode="L")
    assert refused(wide).fields == {"file": "too_many_pixels"}


def test_webp_with_trailing_bytes() -> None:
    assert refused(samples.encoded("WEBP") + b"<html>").fields == {"file": "trailing_data"}


def test_png_with_appended_zip() -> None:
    data = samples.encoded("PNG") + samples.zip_archive()
    assert refused(data).fields == {"file": "trailing_data"}


def test_variant_is_narrower_webp() -> None:
    original = images.process_upload(samples.noise_jpeg(1000, 500), None, LIMITS)
    out = images.variant(original.data, 320)
    assert (out.format, out.width, out.height) == ("WEBP", 320, 160)


def test_upload_body_limit_is_file_plus_envelope() -> None:
    s = Settings(_env_file=None, media_max_upload_bytes=2048, media_multipart_overhead_bytes=1024)
    assert s.media_upload_body_bytes == 3072


def test_variant_widths_from_csv() -> None:
    s = Settings(_env_file=None, media_variant_widths="960, 320,960")  # type: ignore[arg-type]
    assert s.media_variant_widths == [320, 960]
    with pytest.raises(ValueError, match="MEDIA_VARIANT_WIDTHS"):
        Settings(_env_file=None, media_variant_widths="0")  # type: ignore[arg-type]


async def test_local_storage_round_trip(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    root = storage.root
    await storage.check()
    key = "public/ab/abc.png"
    await storage.put(key, b"one", "image/png", "public")
    await storage.put(key, b"two", "image/png", "public")  # content-addressed: kept as it is
    assert await storage.get(key) == b"one"
    assert storage.local_path(key) == root / key
    await storage.delete(key)
    await storage.delete(key)
    with pytest.raises(StoredObjectMissing):
        await storage.get(key)
    for bad in ("../etc/passwd", "/abs", "public/../x", "Public/A.png", "a//b", ""):
        with pytest.raises(InvalidKey):
            storage.local_path(bad)


async def test_a_failed_write_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = LocalStorage(tmp_path)

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("sharestack.storage.local.os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        await storage.put("public/cd/cd.png", b"x" * 1000, "image/png", "public")
    assert _files(tmp_path) == []


async def test_a_cancelled_write_completes_or_leaves_nothing(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    task = asyncio.create_task(storage.put("public/ef/ef.png", b"y" * 5_000_000, "x", "y"))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.5)  # the shielded write finishes in its thread
    files = _files(tmp_path)
    assert all(not p.name.startswith(TEMP_PREFIX) for p in files)
    assert all(p.stat().st_size == 5_000_000 for p in files)


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]
