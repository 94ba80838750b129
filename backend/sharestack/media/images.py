"""Decoding, checking and re-encoding images (Pillow). Pure functions, no I/O: the service runs
them in a thread.

What is accepted is decided by decoding, never by the name or the declared type:

- the bytes must decode as JPEG, PNG, WebP or GIF (GIF: the first frame only; animations are
  flattened to it), in full: a truncated or corrupt file is refused;
- SVG and HTML are refused by name (SVG can carry scripts), any other format as unsupported;
- the pixel count and each side are checked from the header, before any pixel is decoded
  (decompression bombs: a 30,000 × 30,000 PNG of a few KB);
- nothing may follow the format's end marker (JPEG EOI, PNG IEND, the RIFF length of WebP, the
  GIF trailer): that is where polyglots hide an archive or an HTML page;
- a declared Content-Type other than ``application/octet-stream`` must be the decoded one.

The stored file is re-encoded from the decoded pixels, with the EXIF orientation applied first
and an embedded colour profile converted to sRGB: no EXIF (GPS included), XMP, comment or
appended byte survives.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from sharestack.media.exceptions import ImageTooLarge, InvalidImage, UnsupportedImageType

CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png"}
_UNDECLARED = {"", "application/octet-stream"}
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
# Pillow's own bomb check fires at open above this; ours (lower, from settings) runs right after.
Image.MAX_IMAGE_PIXELS = 200_000_000
_SRGB = ImageCms.createProfile("sRGB")


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int
    max_dimension: int


@dataclass(frozen=True)
class Encoded:
    data: bytes
    format: str  # Pillow's name: JPEG, PNG, WEBP, GIF
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def process_upload(data: bytes, declared_type: str | None, limits: Limits) -> Encoded:
    if not data:
        raise InvalidImage("The file is empty.", fields={"file": "empty"})
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(
            f"The file is {len(data)} bytes; at most {limits.max_bytes} are accepted.",
            fields={"file": "too_large"},
        )
    _refuse_markup(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(CONTENT_TYPES))
        with image:
            fmt = str(image.format)
            _check_declared(declared_type, fmt)
            _check_size(image.width, image.height, limits)
            _check_end(fmt, data)
            image.load()  # decodes every byte: truncated or corrupt data fails here
            return _reencode(image, fmt)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _dimensions_error(limits) from exc
    except UnidentifiedImageError as exc:
        raise _unidentified(data) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidImage(
            "The image data is truncated or corrupt.", fields={"file": "corrupt"}
        ) from exc


def _refuse_markup(data: bytes) -> None:
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not head.startswith(b"<"):
        return
    if b"<svg" in head or head.startswith(b"<?xml"):
        raise UnsupportedImageType(
            "SVG is not accepted (it can carry scripts); upload a PNG or WebP instead.",
            fields={"file": "svg"},
        )
    raise UnsupportedImageType("HTML or other markup is not an image.", fields={"file": "markup"})


def _unidentified(data: bytes) -> Exception:
    try:  # a format Pillow knows but we do not accept (BMP, TIFF, ICO, ...) gets its own message
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as other:
                name = other.format
    except Exception:
        name = None
    if name:
        return UnsupportedImageType(
            f"{name} images are not accepted; upload JPEG, PNG, WebP or GIF.",
            fields={"file": "unsupported_format"},
        )
    return InvalidImage(
        "The file is not an image of a known format.", fields={"file": "not_an_image"}
    )


def _check_declared(declared: str | None, fmt: str) -> None:
    claimed = (declared or "").split(";")[0].strip().lower()
    claimed = _ALIASES.get(claimed, claimed)
    actual = CONTENT_TYPES[fmt]
    if claimed not in _UNDECLARED and claimed != actual:
        raise InvalidImage(
            f"The file is a {fmt} image ({actual}) but was sent as {claimed}.",
            fields={"file": "content_type_mismatch"},
        )


def _dimensions_error(limits: Limits) -> Exception:
    return InvalidImage(
        f"The image has too many pixels; at most {limits.max_pixels} and "
        f"{limits.max_dimension} per side are accepted.",
        fields={"file": "too_many_pixels"},
    )


def _check_size(width: int, height: int, limits: Limits) -> None:
    if width < 1 or height < 1:
        raise InvalidImage("The image has no pixels.", fields={"file": "no_pixels"})
    too_big = width * height > limits.max_pixels
    if too_big or max(width, height) > limits.max_dimension:
        raise _dimensions_error(limits)


def _check_end(fmt: str, data: bytes) -> None:
    if fmt == "JPEG":
        ok, ended = data.endswith(b"\xff\xd9"), b"\xff\xd9" in data
    elif fmt == "PNG":
        ok, ended = data.endswith(_PNG_END), _PNG_END in data
    elif fmt == "GIF":
        ok, ended = data.endswith(b"\x3b"), True
    else:  # WEBP: the RIFF length covers the whole file (plus one pad byte at most)
        size = int.from_bytes(data[4:8], "little") + 8
        ok, ended = data[:4] == b"RIFF" and len(data) in (size, size + 1), len(data) > size
    if not ok and not ended:
        raise InvalidImage("The image data is truncated.", fields={"file": "truncated"})
    if not ok:
        raise InvalidImage(
            f"Data follows the end of the {fmt} image (an appended file?); re-save the image.",
            fields={"file": "trailing_data"},
        )


def _to_srgb(image: Image.Image) -> Image.Image:
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        out_mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=out_mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # an unreadable profile: keep the pixels as they are, drop the profile
    return converted if converted is not None else image


def _reencode(image: Image.Image, fmt: str) -> Encoded:
    if fmt == "GIF":
        image.seek(0)
    transparency = image.info.get("transparency") if image.mode == "P" else None
    frame = ImageOps.exif_transpose(image) or image
    frame = _to_srgb(frame)
    if fmt == "JPEG" and frame.mode != "RGB" and frame.mode != "L":
        frame = frame.convert("RGB")
    elif frame.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
        frame = frame.convert("RGBA" if "A" in frame.getbands() else "RGB")
    clean = frame.copy()
    clean.info.clear()  # no EXIF, XMP, ICC, comments or text chunks travel to the saved file
    out = io.BytesIO()
    if fmt == "JPEG":
        clean.save(out, "JPEG", quality=88, optimize=True)
    elif fmt == "PNG":
        extra = {"transparency": transparency} if transparency is not None else {}
        clean.save(out, "PNG", **extra)
    elif fmt == "WEBP":
        clean.save(out, "WEBP", quality=90, method=4)
    else:
        extra = {"transparency": transparency} if transparency is not None else {}
        clean.save(out, "GIF", **extra)
    return Encoded(data=out.getvalue(), format=fmt, width=clean.width, height=clean.height)


def variant(original: bytes, width: int) -> Encoded:
    """A WebP of ``original`` scaled to ``width`` (the caller only asks for narrower ones)."""
    with Image.open(io.BytesIO(original)) as image:
        height = max(1, round(image.height * width / image.width))
        if image.format == "JPEG":
            image.draft("RGB", (width, height))  # decode at 1/2..1/8 scale: 12 MP in a fraction
        frame = image.convert("RGBA" if _has_alpha(image) else "RGB")
        frame = frame.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        out = io.BytesIO()
        frame.save(out, "WEBP", quality=80, method=4)
    return Encoded(data=out.getvalue(), format="WEBP", width=width, height=height)


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
