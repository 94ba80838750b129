"""The phone journey as a user meets it: a real API process and a real worker process on MariaDB
and Redis, the worker sending the code through the Tencent SMS adapter to a simulator over HTTP
(which checks the TC3 signature); every step over HTTP: phone sign-up, log-in, link an email,
log in by email."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import servers
from tests.support.payment_simulators import serve
from tests.support.processes import ManagedProcess
from tests.support.redis_servers import app_env, start_api, start_worker
from tests.support.sms_simulators import TencentSmsSimulator

pytestmark = pytest.mark.system

SECRET_ID = "AKIDSystemTest000000000000000000001"
SECRET_KEY = secrets.token_urlsafe(24)
APP_ID = "1400009999"


@pytest.fixture(scope="module")
def sms() -> Iterator[tuple[TencentSmsSimulator, str]]:
    sim = TencentSmsSimulator(SECRET_ID, SECRET_KEY, sdk_app_id=APP_ID)
    with serve(sim.app()) as url:
        yield sim, url


@pytest.fixture
async def api(
    tmp_path: Path, sms: tuple[TencentSmsSimulator, str]
) -> AsyncIterator[tuple[str, ManagedProcess]]:
    settings = {
        "REDIS_URL": servers.REDIS_URL,
        "SMS_PROVIDER": "tencent",
        "TENCENT_SMS_SECRET_ID": SECRET_ID,
        "TENCENT_SMS_SECRET_KEY": SECRET_KEY,
        "TENCENT_SMS_SDK_APP_ID": APP_ID,
        "TENCENT_SMS_SIGN_NAME": "分享栈",
        "TENCENT_SMS_TEMPLATE_ID": "1110",
        "TENCENT_SMS_ENDPOINT": sms[1],
        # Sign-up and log-in within one minute; the third code is refused.
        "SMS_LIMITS_PER_NUMBER": "2/minute,10/day",
    }
    async with app_env(settings) as env:
        worker = start_worker(tmp_path, env)
        base, proc = start_api(tmp_path, env)
        try:
            yield base, worker
        finally:
            proc.stop()
            worker.stop()
            servers.delete_redis_prefix(env.key_prefix)


def _code_for(sim: TencentSmsSimulator, number: str, seen: int, worker: ManagedProcess) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        sent = [s["code"] for s in sim.sent if s["PhoneNumberSet"] == [number]]
        if len(sent) > seen:
            code: str = sent[-1]
            return code
        time.sleep(0.05)
    raise AssertionError(f"no SMS for {number}; worker log:\n{worker.tail(40)}")


async def test_phone_sign_up_log_in_link_email_log_in_by_email(
    api: tuple[str, ManagedProcess], sms: tuple[TencentSmsSimulator, str]
) -> None:
    base, worker = api
    sim, _ = sms
    number = f"+86139{secrets.randbelow(10**8):08d}"
    email = f"phone-{secrets.token_hex(4)}@example.com"
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:

        async def log_in_by_phone(seen: int) -> dict[str, Any]:
            r = await http.post("/api/v1/auth/phone/code", json={"phone": number})
            assert r.status_code == 202, r.text
            code = _code_for(sim, number, seen, worker)
            r = await http.post("/api/v1/auth/phone/login", json={"phone": number, "code": code})
            assert r.status_code == 200, r.text
            http.cookies.clear()
            body: dict[str, Any] = r.json()
            return body

        signed_up = await log_in_by_phone(0)
        assert signed_up["created"] is True
        logged_in = await log_in_by_phone(1)
        assert logged_in["created"] is False
        assert logged_in["user_id"] == signed_up["user_id"]
        # The third code of the minute is refused (SMS_LIMITS_PER_NUMBER), with Retry-After.
        r = await http.post("/api/v1/auth/phone/code", json={"phone": number})
        assert r.status_code == 429
        assert 1 <= int(r.headers["retry-after"]) <= 60
        # A code works once: logging in again with the last one fails.
        code = _code_for(sim, number, 1, worker)
        r = await http.post("/api/v1/auth/phone/login", json={"phone": number, "code": code})
        assert r.status_code == 400

        token = logged_in["token"]
        headers = {"Authorization": f"Bearer {token}"}
        r = await http.post(
            "/api/v1/me/identities/email",
            json={"email": email, "password": "correct horse battery"},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        r = await http.post(
            "/api/v1/auth/login", json={"email": email, "password": "correct horse battery"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["user_id"] == signed_up["user_id"]
        by_email = {"Authorization": f"Bearer {r.json()['token']}"}
        me = (await http.get("/api/v1/me", headers=by_email)).json()
        assert me["email"] == email
        r = await http.get("/api/v1/me/identities", headers=by_email)
        assert sorted(i["provider"] for i in r.json()) == ["password", "phone"]
    assert worker.alive()
