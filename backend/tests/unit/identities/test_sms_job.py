"""The SMS job's retry policy, with a recording sender (no I/O)."""

from __future__ import annotations

import secrets
from types import SimpleNamespace
from typing import Any

import pytest

from sharestack.auth.phone_codes import seal
from sharestack.auth.sms_jobs import send_sms_code
from sharestack.sms import SmsError, SmsTemporaryError

KEY = secrets.token_urlsafe(48)
PHONE = "+8613912345678"


class Recording:
    name = "recording"

    def __init__(self, error: SmsError | None = None) -> None:
        self.error = error
        self.sent: list[tuple[str, str]] = []

    async def send_code(self, phone: str, code: str) -> None:
        if self.error is not None:
            raise self.error
        self.sent.append((phone, code))


def ctx(sms: Recording | None) -> Any:
    return SimpleNamespace(settings=SimpleNamespace(secret_key=KEY), sms=sms)


async def test_the_sealed_code_is_sent() -> None:
    sms = Recording()
    await send_sms_code(ctx(sms), phone=PHONE, sealed=seal(KEY, PHONE, "123456"))
    assert sms.sent == [(PHONE, "123456")]


async def test_a_temporary_failure_is_raised_for_a_retry() -> None:
    sms = Recording(SmsTemporaryError("x", "isv.BUSINESS_LIMIT_CONTROL", "flow control"))
    with pytest.raises(SmsTemporaryError):
        await send_sms_code(ctx(sms), phone=PHONE, sealed=seal(KEY, PHONE, "123456"))


async def test_a_refusal_or_a_forged_seal_is_dropped_without_the_code_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sms = Recording(SmsError("x", "isv.MOBILE_NUMBER_ILLEGAL", "bad number"))
    await send_sms_code(ctx(sms), phone=PHONE, sealed=seal(KEY, PHONE, "654321"))
    await send_sms_code(ctx(Recording()), phone=PHONE, sealed="forged")
    assert "isv.MOBILE_NUMBER_ILLEGAL" in caplog.text
    assert "654321" not in caplog.text
