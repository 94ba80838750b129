"""Phone log-in: numbers in E.164, one-time codes by SMS (``phone_codes``), send limits.

A code request is limited per IP and per number (SMS_LIMITS_PER_IP, SMS_LIMITS_PER_NUMBER, on
top of RATE_LIMIT_AUTH), each a GCRA limit in Redis, so a burst of simultaneous requests for one
number sends at most the allowed count. The answer is the same whether or not the number has an
account. The SMS itself is an outbox job (``sms_jobs``): a rolled-back request sends nothing.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import phonenumbers
from phonenumbers import PhoneNumberType

from sharestack.auth import identities
from sharestack.auth.identity_errors import CodeLocked, InvalidCode
from sharestack.auth.identity_schemas import IdentityRead
from sharestack.auth.phone_codes import CodeCheck, PhoneCodes, seal
from sharestack.callers.limits import enforce
from sharestack.config import Settings
from sharestack.db.session import WriteSession
from sharestack.errors import InvalidInput
from sharestack.jobs import outbox
from sharestack.ratelimit.limiter import Limit, RateLimiter

if TYPE_CHECKING:
    from sharestack.users.models import User

MOBILE = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


def normalize_phone(raw: str, region: str) -> str:
    """E.164 (``+8613800138000``) for a valid mobile number; 422 naming ``phone`` otherwise."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        number = None
    if (
        number is None
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) not in MOBILE
    ):
        raise InvalidInput(fields={"phone": "not a valid mobile number"})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=8)
def parse_limits(text: str) -> tuple[Limit, ...]:
    return tuple(Limit.parse(part) for part in text.split(",") if part.strip())


async def check_send_limits(
    limiter: RateLimiter | None, settings: Settings, ip: str, phone: str
) -> None:
    for limit in parse_limits(settings.sms_limits_per_ip):
        await enforce(limiter, f"sms-ip-{limit.period_seconds}", ip, limit, fail_closed=True)
    for limit in parse_limits(settings.sms_limits_per_number):
        await enforce(limiter, f"sms-to-{limit.period_seconds}", phone, limit, fail_closed=True)


async def send_code(session: WriteSession, codes: PhoneCodes, secret_key: str, phone: str) -> int:
    code = await codes.issue(phone)
    await outbox.enqueue(
        session, "send_sms_code", phone=phone, sealed=seal(secret_key, phone, code)
    )
    return codes.ttl


async def prove(codes: PhoneCodes, phone: str, code: str) -> None:
    """The caller holds ``phone``: the code sent to it, within its tries and lifetime."""
    result = await codes.check(phone, code)
    if result is CodeCheck.LOCKED:
        raise CodeLocked()
    if result is not CodeCheck.OK:
        raise InvalidCode()


async def login(
    session: WriteSession, codes: PhoneCodes, phone: str, code: str
) -> tuple[User, bool]:
    await prove(codes, phone, code)
    return await identities.sign_in(session, identities.PHONE, phone, f"用户{phone[-4:]}")


async def link(
    session: WriteSession, codes: PhoneCodes, user_id: int, phone: str, code: str
) -> IdentityRead:
    await prove(codes, phone, code)
    return await identities.link_phone(session, user_id, phone)
