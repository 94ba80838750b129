"""What the auth routes (and other domains' routes that need a fresh proof) depend on."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from sharestack.auth.phone_codes import PhoneCodes
from sharestack.dependencies import StateDep


async def _codes(state: StateDep) -> PhoneCodes:
    s = state.settings
    return PhoneCodes(state.redis, s.secret_key, s.sms_code_ttl_seconds, s.sms_code_max_attempts)


PhoneCodesDep = Annotated[PhoneCodes, Depends(_codes)]
