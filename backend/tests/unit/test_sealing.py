"""Sealed personal data: round trip, rotation, and every way a forged value must fail."""

from __future__ import annotations

import base64

import pytest

from sharestack.config import Environment, Settings
from sharestack.sealing import DERIVED_KEY_ID, Sealer, SealError, derive_key, parse_keys

KEY_A = base64.urlsafe_b64encode(b"a" * 32).decode()
KEY_B = base64.urlsafe_b64encode(b"b" * 32).decode()


def test_round_trip_is_bound_to_its_context() -> None:
    sealer = Sealer.from_config("s" * 40, "")
    sealed = sealer.seal("张三丰", context="owner:1")
    assert sealed.startswith(f"{DERIVED_KEY_ID}.")
    assert "张三丰" not in sealed
    assert sealer.seal("张三丰", context="owner:1") != sealed  # a fresh nonce each time
    assert sealer.open(sealed, context="owner:1") == "张三丰"
    with pytest.raises(SealError, match="another context"):
        sealer.open(sealed, context="owner:2")


def test_forged_values_do_not_open() -> None:
    sealer = Sealer.from_config("s" * 40, "")
    sealed = sealer.seal("Ada", context="c")
    head, _, body = sealed.partition(".")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    for forged in (f"{head}.{flipped}", f"{head}.", f"{head}.!!!", "k9.abcd", "", "nodot"):
        with pytest.raises(SealError):
            sealer.open(forged, context="c")


def test_keys_rotate_old_values_still_open() -> None:
    old = Sealer.from_config("unused", f"a:{KEY_A}")
    sealed = old.seal("name", context="c")
    rotated = Sealer.from_config("unused", f"b:{KEY_B},a:{KEY_A}")
    assert rotated.open(sealed, context="c") == "name"
    assert rotated.seal("name", context="c").startswith("b.")
    with pytest.raises(SealError, match="not configured"):
        Sealer.from_config("unused", f"b:{KEY_B}").open(sealed, context="c")


def test_the_derived_key_depends_on_the_secret_key() -> None:
    assert derive_key("x" * 40) != derive_key("y" * 40)
    assert len(derive_key("x" * 40)) == 32


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nokey", "id:base64key"),
        (f"UPPER:{KEY_A}", "id:base64key"),
        ("a:c2hvcnQ", "32 bytes"),
        ("a:***", "not base64|32 bytes"),
        (f"a:{KEY_A},a:{KEY_B}", "twice"),
    ],
)
def test_malformed_key_lists_are_refused_naming_the_fault(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_keys(text)
    with pytest.raises(ValueError, match=message):
        Settings(_env_file=None, environment=Environment.development, data_encryption_keys=text)
