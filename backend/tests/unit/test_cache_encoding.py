"""How cache/aside lays values out in Redis: a large payload is stored deflated and read back
byte for byte; a small one and "not found" as they were; another generation's value is never
read. No I/O."""

from __future__ import annotations

import orjson

from sharestack.cache.aside import _decode, _encode


def test_a_large_payload_is_deflated_and_read_back_exactly() -> None:
    body = "订阅者专享的正文，包含中文与 English 混排。" * 40
    payload = orjson.dumps({"id": 1, "title": "标题", "body": body})
    stored = _encode(b"tok", payload)
    assert stored.startswith(b"tok|z")
    assert len(stored) < len(payload) / 2
    assert _decode(stored, b"tok") == (True, payload)


def test_small_payloads_and_not_found_are_stored_as_they_are() -> None:
    assert _encode(b"tok", b'{"id":1}') == b'tok|+{"id":1}'
    assert _decode(b'tok|+{"id":1}', b"tok") == (True, b'{"id":1}')
    assert _encode(b"tok", None) == b"tok|-"
    assert _decode(b"tok|-", b"tok") == (True, None)


def test_a_value_of_another_generation_is_not_read() -> None:
    stored = _encode(b"old", b"x" * 2000)
    assert _decode(stored, b"new") == (False, None)
    assert _decode(None, b"new") == (False, None)
