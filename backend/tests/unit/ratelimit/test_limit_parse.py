from __future__ import annotations

import pytest

from sharestack.ratelimit.limiter import Limit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10/minute", Limit(10, 60)),
        ("5 / second", Limit(5, 1)),
        ("100/5minutes", Limit(100, 300)),
        ("1000/hour", Limit(1000, 3600)),
    ],
)
def test_parse(text: str, expected: Limit) -> None:
    assert Limit.parse(text) == expected


@pytest.mark.parametrize("text", ["ten/minute", "10/fortnight", "0/minute", ""])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        Limit.parse(text)
