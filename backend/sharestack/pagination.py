"""Keyset (cursor) pagination.

A cursor is the position of the last item of a page, ``(published_at, id)``, opaque to clients
(URL-safe base64 of a small JSON array). A page query asks for rows strictly after that position in
the feed's order, so pages stay stable while new items are published and cost the same at any
depth, unlike OFFSET.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

import orjson

from sharestack.errors import InvalidInput

MAX_CURSOR_LENGTH = 200


@dataclass(frozen=True)
class Position:
    published_at: datetime
    id: int


def encode_cursor(position: Position) -> str:
    raw = orjson.dumps([position.published_at.isoformat(), position.id])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, field: str = "cursor") -> Position:
    invalid = InvalidInput("Invalid cursor.", fields={field: "not a cursor returned by this API"})
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, item_id = orjson.loads(raw)
        when = datetime.fromisoformat(stamp)
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise invalid from exc
    if when.tzinfo is None or not isinstance(item_id, int) or not 0 < item_id < 2**63:
        raise invalid
    return Position(when, item_id)
