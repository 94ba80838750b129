"""Keyset (cursor) pagination with opaque, signed cursors.

A cursor is the position of the last item of a page, ``(timestamp, id)``: URL-safe base64 of a
small JSON array plus an HMAC of it (a key derived from SECRET_KEY), so a client can neither
forge one nor decode one we did not make. A page query asks for rows strictly after that position
in the list's order, so pages stay stable while new items are published and cost the same at any
depth, unlike OFFSET. Anything that does not verify and decode to a sane position is a 422
``invalid_cursor`` naming the field, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from sharestack.errors import InvalidInput

MAX_CURSOR_LENGTH = 200
_MAX_ID = 2**63 - 1
_SIGNATURE_BYTES = 16


@dataclass(frozen=True)
class Position:
    published_at: datetime  # the list's timestamp: published_at in feeds, created_at elsewhere
    id: int


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"
    message = "Invalid cursor."


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Cursors:
    """Makes and checks cursors; one per process, keyed by SECRET_KEY (so every API instance
    accepts every other's cursors)."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"sharestack-cursor:" + secret.encode()).digest()

    def _sign(self, payload: str) -> str:
        mac = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
        return _b64(mac[:_SIGNATURE_BYTES])

    def encode(self, position: Position) -> str:
        payload = _b64(orjson.dumps([position.published_at.isoformat(), position.id]))
        return f"{payload}.{self._sign(payload)}"

    def decode(self, cursor: str, field: str = "cursor") -> Position:
        invalid = InvalidCursor(fields={field: "not a cursor returned by this API"})
        payload, dot, signature = cursor.partition(".")
        if len(cursor) > MAX_CURSOR_LENGTH or not dot:
            raise invalid
        if not hmac.compare_digest(self._sign(payload).encode(), signature.encode()):
            raise invalid
        try:
            stamp, item_id = orjson.loads(_unb64(payload))
            when = datetime.fromisoformat(stamp)
            utc = when.astimezone(UTC)
        except (binascii.Error, ValueError, TypeError, OverflowError, orjson.JSONDecodeError) as e:
            raise invalid from e
        # bool is an int in Python: a JSON true is not an id.
        if when.tzinfo is None or type(item_id) is not int or not 0 < item_id <= _MAX_ID:
            raise invalid
        return Position(utc, item_id)

    def decode_optional(self, cursor: str | None, field: str = "cursor") -> Position | None:
        return self.decode(cursor, field) if cursor else None
