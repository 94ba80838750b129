from __future__ import annotations

from sharestack.auth.security import hash_password, verify_password
from sharestack.callers.store import new_token, token_digest


async def test_argon2id_hash_and_verify() -> None:
    hashed = await hash_password("密码 password")
    assert hashed.startswith("$argon2id$")
    assert await verify_password(hashed, "密码 password")
    assert not await verify_password(hashed, "wrong")
    assert not await verify_password(None, "anything")
    assert not await verify_password("not-a-hash", "anything")


def test_tokens_are_random_and_digests_keyed() -> None:
    a, b = new_token(), new_token()
    assert a != b
    assert len(a) >= 43
    assert token_digest("k1", a) != token_digest("k2", a)
    assert a not in token_digest("k1", a)
