from __future__ import annotations

import base64
from datetime import UTC, datetime

import orjson
import pytest

from sharestack.pagination import Cursors, InvalidCursor, Position

CURSORS = Cursors("unit-test-secret-key-0123456789abcdef")


def test_round_trip() -> None:
    p = Position(datetime(2026, 11, 28, 12, 0, 0, 123456, tzinfo=UTC), 42)
    assert CURSORS.decode(CURSORS.encode(p)) == p


def _signed(value: object) -> str:
    """A cursor over any JSON, signed with the right key: what a leaked key would allow."""
    payload = base64.urlsafe_b64encode(orjson.dumps(value)).rstrip(b"=").decode()
    return f"{payload}.{CURSORS._sign(payload)}"


def _unsigned(value: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "bm90IGpzb24",
        "A" * 500,
        # Well-formed positions, but not signed by us (the crafted cursors that used to 500).
        _unsigned(["2026-11-28T00:00:00+00:00", True]),
        _unsigned(["9999-12-31T23:59:59-14:00", 1]),
        _unsigned(["2026-11-28T00:00:00+00:00", 1]) + ".AAAAAAAAAAAAAAAAAAAAAA",
        # Signed, but not a sane position: still refused, never a 500.
        _signed(["2026-11-28T00:00:00+00:00", True]),
        _signed(["9999-12-31T23:59:59-14:00", 1]),
        _signed(["2026-11-28T00:00:00", 1]),
        _signed(["2026-11-28T00:00:00+00:00", -1]),
        _signed(["2026-11-28T00:00:00+00:00", 2**63]),
        _signed(["2026-11-28T00:00:00+00:00", "1"]),
        _signed([1, 2]),
        _signed({"a": 1}),
        _signed("x"),
    ],
)
def test_invalid_cursors_name_the_field(cursor: str) -> None:
    with pytest.raises(InvalidCursor) as info:
        CURSORS.decode(cursor)
    assert info.value.status_code == 422
    assert info.value.code == "invalid_cursor"
    assert info.value.fields == {"cursor": "not a cursor returned by this API"}


def test_a_cursor_from_another_key_is_refused() -> None:
    p = Position(datetime(2026, 11, 28, tzinfo=UTC), 7)
    with pytest.raises(InvalidCursor):
        Cursors("another-secret-key-0123456789abcdef!").decode(CURSORS.encode(p))
