"""The Aliyun and Tencent SMS adapters against simulators served over HTTP on loopback, which
check each request's signature as the providers do; and a phone log-in through the API with a
real adapter sending from the outbox job."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI

from sharestack.config import Settings
from sharestack.dependencies import app_state
from sharestack.main import create_app
from sharestack.sms import SmsError, SmsTemporaryError
from sharestack.sms.aliyun import AliyunSms, AliyunSmsConfig, aliyun_number
from sharestack.sms.tencent import TencentSms, TencentSmsConfig
from tests.integration.billing import inline_jobs
from tests.integration.identities.conftest import new_number, random_ip
from tests.support import servers
from tests.support.payment_simulators import serve
from tests.support.sms_simulators import AliyunSmsSimulator, TencentSmsSimulator

pytestmark = pytest.mark.integration

ALIYUN_KEY = ("LTAI5tExampleKeyId01", secrets.token_urlsafe(22))
TENCENT_KEY = ("AKIDExampleSecretId0000000000000001", secrets.token_urlsafe(24))
TENCENT_APP = "1400006666"


@pytest.fixture(scope="module")
def aliyun() -> Iterator[tuple[AliyunSmsSimulator, str]]:
    sim = AliyunSmsSimulator(*ALIYUN_KEY)
    with serve(sim.app()) as url:
        yield sim, url


@pytest.fixture(scope="module")
def tencent() -> Iterator[tuple[TencentSmsSimulator, str]]:
    sim = TencentSmsSimulator(*TENCENT_KEY, sdk_app_id=TENCENT_APP)
    with serve(sim.app()) as url:
        yield sim, url


def aliyun_sms(url: str, secret: str = ALIYUN_KEY[1]) -> AliyunSms:
    return AliyunSms(AliyunSmsConfig(ALIYUN_KEY[0], secret, "分享栈", "SMS_154950909", url))


def tencent_sms(url: str, secret: str = TENCENT_KEY[1]) -> TencentSms:
    return TencentSms(
        TencentSmsConfig(TENCENT_KEY[0], secret, TENCENT_APP, "分享栈", "1110", endpoint=url)
    )


async def test_aliyun_sends_a_signed_request(aliyun: tuple[AliyunSmsSimulator, str]) -> None:
    sim, url = aliyun
    sms = aliyun_sms(url)
    number = new_number()
    try:
        await sms.send_code(number, "042917")
    finally:
        await sms.aclose()
    sent = sim.sent[-1]
    assert sent["code"] == "042917"
    assert sent["PhoneNumbers"] == number[3:] == aliyun_number(number)
    assert sent["SignName"] == "分享栈"
    assert sent["TemplateCode"] == "SMS_154950909"
    assert aliyun_number("+85251234567") == "85251234567"


async def test_aliyun_errors_are_told_apart(aliyun: tuple[AliyunSmsSimulator, str]) -> None:
    sim, url = aliyun
    forged = aliyun_sms(url, secret="not-the-secret")
    sms = aliyun_sms(url)
    try:
        with pytest.raises(SmsError) as refused:
            await forged.send_code(new_number(), "111111")
        assert refused.value.code == "SignatureDoesNotMatch"
        assert not isinstance(refused.value, SmsTemporaryError)
        sim.fail_next.append("isv.BUSINESS_LIMIT_CONTROL")
        with pytest.raises(SmsTemporaryError):
            await sms.send_code(new_number(), "111111")
        sim.fail_next.append("isv.MOBILE_NUMBER_ILLEGAL")
        with pytest.raises(SmsError) as illegal:
            await sms.send_code(new_number(), "111111")
        assert not isinstance(illegal.value, SmsTemporaryError)
    finally:
        await forged.aclose()
        await sms.aclose()
    unreachable = aliyun_sms("http://127.0.0.1:9")
    with pytest.raises(SmsTemporaryError):
        await unreachable.send_code(new_number(), "111111")
    await unreachable.aclose()


async def test_tencent_sends_a_tc3_signed_request(tencent: tuple[TencentSmsSimulator, str]) -> None:
    sim, url = tencent
    sms = tencent_sms(url)
    number = new_number()
    try:
        await sms.send_code(number, "730158")
    finally:
        await sms.aclose()
    sent = sim.sent[-1]
    assert sent["PhoneNumberSet"] == [number]
    assert sent["TemplateParamSet"] == ["730158"]
    assert sent["TemplateId"] == "1110"
    assert sent["SignName"] == "分享栈"


async def test_tencent_errors_are_told_apart(tencent: tuple[TencentSmsSimulator, str]) -> None:
    sim, url = tencent
    forged = tencent_sms(url, secret="not-the-secret")
    sms = tencent_sms(url)
    try:
        with pytest.raises(SmsError) as refused:
            await forged.send_code(new_number(), "111111")
        assert refused.value.code == "AuthFailure.SignatureFailure"
        assert not isinstance(refused.value, SmsTemporaryError)
        sim.fail_next.append("LimitExceeded.PhoneNumberThirtySecondLimit")
        with pytest.raises(SmsTemporaryError):
            await sms.send_code(new_number(), "111111")
        sim.fail_next.append("InvalidParameterValue.IncorrectPhoneNumber")
        with pytest.raises(SmsError) as bad_number:
            await sms.send_code(new_number(), "111111")
        assert not isinstance(bad_number.value, SmsTemporaryError)
    finally:
        await forged.aclose()
        await sms.aclose()


@pytest.fixture
async def tencent_app(
    migrated: Settings, tencent: tuple[TencentSmsSimulator, str]
) -> AsyncIterator[FastAPI]:
    prefix = f"{migrated.redis_key_prefix}tsms{secrets.token_hex(3)}:"
    settings = migrated.model_copy(
        update={
            "redis_key_prefix": prefix,
            "sms_provider": "tencent",
            "tencent_sms_secret_id": TENCENT_KEY[0],
            "tencent_sms_secret_key": TENCENT_KEY[1],
            "tencent_sms_sdk_app_id": TENCENT_APP,
            "tencent_sms_sign_name": "分享栈",
            "tencent_sms_template_id": "1110",
            "tencent_sms_endpoint": tencent[1],
        }
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application
    servers.delete_redis_prefix(prefix)


async def test_phone_log_in_with_the_tencent_adapter(
    tencent_app: FastAPI, tencent: tuple[TencentSmsSimulator, str], clean_tables: None
) -> None:
    sim, _ = tencent
    assert isinstance(app_state(tencent_app).sms, TencentSms)
    number = new_number()
    transport = httpx.ASGITransport(app=tencent_app, client=(random_ip(), 40000))
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
        inline_jobs(tencent_app) as jobs,
    ):
        r = await http.post("/api/v1/auth/phone/code", json={"phone": number})
        assert r.status_code == 202
        await jobs.settle()
        [sent] = [s for s in sim.sent if s["PhoneNumberSet"] == [number]]
        r = await http.post(
            "/api/v1/auth/phone/login", json={"phone": number, "code": sent["code"]}
        )
        assert r.status_code == 200, r.text
        assert r.json()["created"] is True
