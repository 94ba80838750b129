"""What the auth routes (and other domains' routes that need a fresh proof) depend on."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from sharestack.auth.phone_codes import PhoneCodes
from sharestack.auth.security import admit_hashing
from sharestack.dependencies import StateDep


async def _codes(state: StateDep) -> PhoneCodes:
    s = state.settings
    return PhoneCodes(state.redis, s.secret_key, s.sms_code_ttl_seconds, s.sms_code_max_attempts)


PhoneCodesDep = Annotated[PhoneCodes, Depends(_codes)]

# Listed first on the routes that hash a password: a request the hashing bulkhead would refuse
# now costs no rate-limit round trip and no database read (sharestack.bulkhead).
HashingAdmission = Depends(admit_hashing)
