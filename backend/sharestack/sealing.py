"""Personal data that must be readable by the application but not by whoever reads the database
or a backup (a payee's real name): sealed with AES-256-GCM before it is stored.

A sealed value is ``"<key id>.<base64url(nonce | ciphertext | tag)>"``. The key id names one of
the configured keys, so keys can rotate: new values are sealed with the first key, old ones
still open with theirs. ``context`` is bound in as associated data (for example the owner's id),
so a sealed value copied into another row does not open there.

Keys: ``DATA_ENCRYPTION_KEYS`` (``id:base64-of-32-bytes``, comma-separated, current first); when
unset, one key (id ``k0``) is derived from ``SECRET_KEY`` with HKDF-SHA256. Rotating
``SECRET_KEY`` therefore needs the old derived key kept in ``DATA_ENCRYPTION_KEYS`` (as
``k0:<base64 of derive_key(old SECRET_KEY)>``, after the new current key): docs/operations.md.
"""

from __future__ import annotations

import base64
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

DERIVED_KEY_ID = "k0"
_KEY_ID = re.compile(r"[a-z0-9]{1,8}")
_NONCE = 12


class SealError(ValueError):
    """A sealed value that does not open: unknown key, tampered, or sealed for another context."""


def derive_key(secret_key: str) -> bytes:
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"sharestack data encryption v1"
    )
    return hkdf.derive(secret_key.encode())


def parse_keys(text: str) -> list[tuple[str, bytes]]:
    """``id:base64,id:base64`` → [(id, 32 bytes)], in order; raises ValueError naming the fault."""
    keys: list[tuple[str, bytes]] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        key_id, sep, encoded = item.partition(":")
        if not sep or not _KEY_ID.fullmatch(key_id):
            raise ValueError("each DATA_ENCRYPTION_KEYS entry is id:base64key, id [a-z0-9]{1,8}")
        try:
            key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except ValueError:
            raise ValueError(f"DATA_ENCRYPTION_KEYS key {key_id} is not base64") from None
        if len(key) != 32:
            raise ValueError(f"DATA_ENCRYPTION_KEYS key {key_id} is not 32 bytes")
        if key_id in dict(keys):
            raise ValueError(f"DATA_ENCRYPTION_KEYS lists {key_id} twice")
        keys.append((key_id, key))
    return keys


class Sealer:
    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("a sealer needs at least one key")
        self._current = keys[0][0]
        self._keys = {key_id: AESGCM(key) for key_id, key in keys}

    @classmethod
    def from_config(cls, secret_key: str, data_encryption_keys: str) -> Sealer:
        keys = parse_keys(data_encryption_keys)
        return cls(keys or [(DERIVED_KEY_ID, derive_key(secret_key))])

    def seal(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(_NONCE)
        sealed = self._keys[self._current].encrypt(nonce, plaintext.encode(), context.encode())
        return f"{self._current}.{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"

    def open(self, value: str, *, context: str) -> str:
        key_id, _, encoded = value.partition(".")
        cipher = self._keys.get(key_id)
        if cipher is None:
            raise SealError(f"sealed with key {key_id!r}, which is not configured")
        try:
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            return cipher.decrypt(raw[:_NONCE], raw[_NONCE:], context.encode()).decode()
        except (InvalidTag, ValueError):
            raise SealError("a sealed value does not open (tampered or another context)") from None
