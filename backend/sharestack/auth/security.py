"""Password hashing (argon2id)."""

from __future__ import annotations

import asyncio
import os
import secrets

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# RFC 9106's second recommended option (memory-constrained): 64 MiB, 3 passes.
_hasher = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=1)
# At most this many hashes run at once (each takes 64 MiB and a core for tens of ms); the rest
# wait their turn here instead of filling the thread pool and the memory.
_slots = asyncio.Semaphore(max(2, os.cpu_count() or 2))
# Verified when the email is unknown, so that both failures cost the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


async def hash_password(password: str) -> str:
    # argon2 is CPU-bound by design (tens of ms): keep it off the event loop.
    async with _slots:
        return await anyio.to_thread.run_sync(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def _verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    async with _slots:
        return await anyio.to_thread.run_sync(_verify)
