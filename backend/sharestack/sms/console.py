"""The development and test provider: nothing leaves the machine.

Each code is pushed to a short-lived Redis list per number (``sms:console:<E.164>``, expiring
with the code) so that tests, and a developer with ``redis-cli``, can read it; in development it
is also logged. The settings refuse this provider in production (``config.Settings``), so a code
is never written anywhere readable there."""

from __future__ import annotations

import logging

from redis.asyncio import Redis

logger = logging.getLogger(__name__)


class ConsoleSms:
    name = "console"

    def __init__(self, redis: Redis, prefix: str, *, ttl_seconds: int, log_codes: bool) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl = ttl_seconds
        self._log = log_codes

    def key(self, phone: str) -> str:
        return f"{self._prefix}{phone}"

    async def send_code(self, phone: str, code: str) -> None:
        key = self.key(phone)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, code)
            pipe.expire(key, self._ttl)
            await pipe.execute()
        if self._log:
            logger.info("console SMS to %s: verification code %s", phone, code)

    async def sent(self, phone: str) -> list[str]:
        """Every code still kept for ``phone``, oldest first."""
        codes = await self._redis.lrange(self.key(phone), 0, -1)
        return [c.decode() if isinstance(c, bytes) else str(c) for c in codes]

    async def aclose(self) -> None:
        return None
