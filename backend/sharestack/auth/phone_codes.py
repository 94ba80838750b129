"""One-time SMS codes in Redis (the ``sessions`` role), one live code per number.

Redis keeps only HMAC-SHA256(SECRET_KEY, number + code) and a try counter, expiring with the
code (SMS_CODE_TTL_SECONDS): a leaked dump gives neither the codes nor a way to test guesses
offline. A new code replaces the old one and resets the counter.

Checking is one Lua script, so concurrent attempts are serialised by Redis: every attempt counts
first; past SMS_CODE_MAX_ATTEMPTS the code is dead (even the right one is refused) until it
expires or a new one is sent; the right code deletes itself, so of 20 simultaneous log-ins with
one code exactly one succeeds.

On its way to the SMS job the code is sealed (AES-GCM under a key derived from SECRET_KEY, the
number as associated data): the outbox row and the queue entry never hold it in clear.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets

from sharestack.cache.redis import RedisRoles
from sharestack.sealing import Sealer, SealError

_CHECK = """
local digest = redis.call('HGET', KEYS[1], 'h')
if not digest then return 0 end
local tries = redis.call('HINCRBY', KEYS[1], 'n', 1)
if tries > tonumber(ARGV[2]) then return -1 end
if digest == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return -2
"""


class CodeCheck(enum.Enum):
    OK = 1
    MISSING = 0  # never sent, expired, or used already
    LOCKED = -1  # too many tries
    WRONG = -2


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def _key_for(secret_key: str, purpose: bytes) -> bytes:
    return hmac.new(secret_key.encode(), purpose, hashlib.sha256).digest()


def _sealer(secret_key: str) -> Sealer:
    return Sealer([("sms", _key_for(secret_key, b"sms-code-seal"))])


def seal(secret_key: str, phone: str, code: str) -> str:
    """The code as it rides in the outbox to the SMS job: sealed, bound to its number."""
    return _sealer(secret_key).seal(code, context=phone)


def unseal(secret_key: str, phone: str, sealed: str) -> str | None:
    try:
        return _sealer(secret_key).open(sealed, context=phone)
    except SealError:
        return None


class PhoneCodes:
    def __init__(self, redis: RedisRoles, secret_key: str, ttl: int, max_attempts: int) -> None:
        self._redis = redis.sessions
        self._roles = redis
        self._secret = secret_key
        self.ttl = ttl
        self._max = max_attempts
        self._check = self._redis.register_script(_CHECK)

    def _key(self, phone: str) -> str:
        return self._roles.key("phonecode", phone)

    def _digest(self, phone: str, code: str) -> str:
        message = f"{phone}\n{code}".encode()
        return hmac.new(_key_for(self._secret, b"sms-code"), message, hashlib.sha256).hexdigest()

    async def issue(self, phone: str) -> str:
        code = new_code()
        key = self._key(phone)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping={"h": self._digest(phone, code), "n": 0})
            pipe.expire(key, self.ttl)
            await pipe.execute()
        return code

    async def check(self, phone: str, code: str) -> CodeCheck:
        result = await self._check(
            keys=[self._key(phone)], args=[self._digest(phone, code), self._max]
        )
        return CodeCheck(int(result))
