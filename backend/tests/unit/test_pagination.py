from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sharestack.errors import InvalidInput
from sharestack.pagination import Position, decode_cursor, encode_cursor


def test_round_trip() -> None:
    p = Position(datetime(2026, 11, 28, 12, 0, 0, 123456, tzinfo=UTC), 42)
    assert decode_cursor(encode_cursor(p)) == p


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "bm90IGpzb24",
        "WzEsMl0",
        "WyIyMDI2LTExLTI4IiwgMV0",
        "A" * 500,
        "WyIyMDI2LTExLTI4VDAwOjAwOjAwKzAwOjAwIiwgLTFd",
        "WyIyMDI2LTExLTI4VDAwOjAwOjAwKzAwOjAwIiwgIjEiXQ",
    ],
)
def test_invalid_cursors_name_the_field(cursor: str) -> None:
    with pytest.raises(InvalidInput) as info:
        decode_cursor(cursor)
    assert info.value.fields == {"cursor": "not a cursor returned by this API"}
