"""Real image files for the media tests, made with Pillow (and by hand where Pillow would refuse
to write what an attacker sends)."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

GPS_LATITUDE = (39.0, 54.0, 27.0)  # somewhere in Beijing


def photo(width: int = 64, height: int = 32, orientation: int = 6) -> bytes:
    """A JPEG with EXIF: camera orientation 6 (rotate 90°) and a GPS position."""
    image = Image.new("RGB", (width, height), (200, 30, 30))
    image.paste((30, 30, 200), (0, 0, width // 2, height))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "ShareStack Camera"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = GPS_LATITUDE
    gps[3] = "E"
    gps[4] = (116.0, 23.0, 0.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def encoded(fmt: str, size: tuple[int, int] = (48, 36), mode: str = "RGB", **kw: object) -> bytes:
    color: object = (10, 120, 200) if mode != "L" else 100
    if mode == "RGBA":
        color = (10, 120, 200, 128)
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, fmt, **kw)  # type: ignore[arg-type]
    return out.getvalue()


def noise_jpeg(width: int, height: int, quality: int = 90) -> bytes:
    """A photo-like JPEG (noise compresses like a real photo, not like a flat colour)."""
    out = io.BytesIO()
    Image.effect_noise((width, height), 40).convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_bomb(side: int = 30_000) -> bytes:
    """A PNG header announcing side × side pixels with a few KB of highly compressed rows: what
    a decompression bomb looks like to a server that decodes before it checks."""
    row = b"\x00" + b"\x00" * (side // 8)
    body = zlib.compress(row * 200, 9)
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", body)
        + _chunk(b"IEND", b"")
    )


def zip_archive() -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.html", "<script>alert(document.cookie)</script>")
    return out.getvalue()


SVG_WITH_SCRIPT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>"
)
HTML_PAGE = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
