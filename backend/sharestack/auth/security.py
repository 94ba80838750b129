"""Password hashing (argon2id), behind a bulkhead (``sharestack.bulkhead``): a bounded number of
hashes at once and a bounded queue; past it the request is answered 503 with Retry-After at once.
"""

from __future__ import annotations

import os
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from sharestack.bulkhead import Bulkhead

# RFC 9106's second recommended option (memory-constrained): 64 MiB, 3 passes.
_hasher = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=1)
# Verified when the email is unknown, so that both failures cost the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

_CORES = os.cpu_count() or 2
_bulkhead = Bulkhead("password_hash", workers=_CORES, waiters=2 * _CORES, max_wait=1.0)


def configure_hashing(workers: int, waiters: int, max_wait: float) -> None:
    """Size the bulkhead (settings ``PASSWORD_HASH_*``; called once at start-up)."""
    global _bulkhead
    _bulkhead.close()
    _bulkhead = Bulkhead("password_hash", workers=workers, waiters=waiters, max_wait=max_wait)


async def admit_hashing() -> None:
    """A route dependency, before the rate limit's round trip and the database: a request whose
    hash would be refused now is refused before anything else (503, ``Retry-After``)."""
    _bulkhead.admit()


async def hash_password(password: str) -> str:
    # argon2 is CPU-bound by design (tens of ms): off the event loop, in the bulkhead's threads.
    return await _bulkhead.run(_hasher.hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    return await _bulkhead.run(_verify, password_hash, password)
