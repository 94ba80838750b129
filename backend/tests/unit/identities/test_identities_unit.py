"""No I/O: provider signatures against the vendors' own SDK code, number normalisation, the
sealed code, identity keys and labels, settings."""

from __future__ import annotations

import secrets
import time

import pytest
from alibabacloud_openapi_util.client import Client as AliyunUtil
from pydantic import ValidationError
from tencentcloud.common.sign import Sign

from sharestack.auth.identities import label, wechat_identifier
from sharestack.auth.models import UserAuth
from sharestack.auth.phone import normalize_phone, parse_limits
from sharestack.auth.phone_codes import new_code, seal, unseal
from sharestack.config import Settings
from sharestack.errors import InvalidInput
from sharestack.sms.aliyun import AliyunSms, AliyunSmsConfig, rpc_signature
from sharestack.sms.factory import sms_from_settings
from sharestack.sms.tencent import tc3_signature, tc3_string_to_sign
from sharestack.wechat import WechatIdentity


def test_aliyun_rpc_signature_matches_the_sdk() -> None:
    sms = AliyunSms(AliyunSmsConfig("LTAI5tKey", "s3cr3t", "分享栈", "SMS_1", "http://x"))
    params = sms.signed_params("+8613912345678", "012345")
    signature = params.pop("Signature")
    assert signature == AliyunUtil.get_rpcsignature(params, "GET", "s3cr3t")
    assert signature == rpc_signature("s3cr3t", "GET", params)
    assert params["PhoneNumbers"] == "13912345678"
    assert params["TemplateParam"] == '{"code":"012345"}'


def test_tencent_tc3_signature_matches_the_sdk() -> None:
    timestamp = int(time.time())
    to_sign, signed_headers = tc3_string_to_sign("sms.tencentcloudapi.com", b"{}", timestamp)
    date = time.strftime("%Y-%m-%d", time.gmtime(timestamp))
    assert signed_headers == "content-type;host"
    assert to_sign.startswith(f"TC3-HMAC-SHA256\n{timestamp}\n{date}/sms/tc3_request\n")
    assert tc3_signature("key", to_sign, timestamp) == Sign.sign_tc3("key", date, "sms", to_sign)


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("13912345678", "+8613912345678"),
        ("139 1234 5678", "+8613912345678"),
        ("+86 139-1234-5678", "+8613912345678"),
        ("008613912345678", "+8613912345678"),
        ("+852 5123 4567", "+85251234567"),
        ("+1 (201) 555-0123", "+12015550123"),
    ],
)
def test_numbers_are_normalised_to_e164(raw: str, e164: str) -> None:
    assert normalize_phone(raw, "CN") == e164


@pytest.mark.parametrize("raw", ["1391234567", "010 6552 9988", "+86 100 0000 0000", "abc", "+"])
def test_invalid_or_landline_numbers_are_refused_naming_the_field(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        normalize_phone(raw, "CN")
    assert refused.value.fields == {"phone": "not a valid mobile number"}


def test_codes_are_six_digits() -> None:
    codes = {new_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 150


def test_a_sealed_code_opens_only_with_its_key_and_number() -> None:
    key = secrets.token_urlsafe(48)
    sealed = seal(key, "+8613912345678", "482913")
    assert "482913" not in sealed
    assert unseal(key, "+8613912345678", sealed) == "482913"
    assert unseal(key, "+8613912345679", sealed) is None
    assert unseal(secrets.token_urlsafe(48), "+8613912345678", sealed) is None
    forged = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    assert unseal(key, "+8613912345678", forged) is None
    assert unseal(key, "+8613912345678", "not base64!") is None


def test_wechat_identities_are_keyed_by_unionid_else_openid_per_app() -> None:
    assert wechat_identifier(WechatIdentity("wxA", "oX", "ouU")) == "unionid:ouU"
    assert wechat_identifier(WechatIdentity("wxA", "oX", None)) == "openid:wxA:oX"


def test_labels_hide_the_middle_of_a_number_and_the_wechat_ids() -> None:
    phone = UserAuth(provider="phone", identifier="+8613912345678")
    assert label(phone) == "+86139****5678"
    assert label(UserAuth(provider="wechat", identifier="unionid:ouU")) == "WeChat"
    assert label(UserAuth(provider="password", identifier="a@example.com")) == "a@example.com"


def test_send_limits_parse_and_bad_ones_are_refused_at_start_up() -> None:
    assert [str(x) for x in parse_limits("1/minute, 10/day")] == ["1/60s", "10/86400s"]
    with pytest.raises(ValidationError):
        Settings(_env_file=None, sms_limits_per_number="often")
    with pytest.raises(ValidationError):
        Settings(_env_file=None, sms_limits_per_ip=" , ")


@pytest.mark.parametrize(
    "name", ["aliyun_sms_access_key_secret", "tencent_sms_secret_key", "wechat_web_secret"]
)
def test_placeholder_provider_secrets_are_refused_outside_development(name: str) -> None:
    with pytest.raises(ValidationError, match=name.upper()):
        Settings(
            _env_file=None, environment="production", secret_key="x" * 48, **{name: "changeme"}
        )
    Settings(_env_file=None, environment="development", **{name: "changeme"})


def test_no_console_sms_in_production_and_a_chosen_provider_must_be_complete() -> None:
    production = Settings(_env_file=None, environment="production", secret_key="x" * 48)
    assert sms_from_settings(production, None, "p:") is None  # type: ignore[arg-type]
    assert sms_from_settings(Settings(_env_file=None), None, "p:") is not None  # type: ignore[arg-type]
    partial = Settings(_env_file=None, sms_provider="tencent", tencent_sms_secret_id="AKID")
    with pytest.raises(ValueError, match="TENCENT_SMS_SECRET_KEY"):
        sms_from_settings(partial, None, "p:")  # type: ignore[arg-type]


def test_wechat_apps_are_on_only_with_every_setting(caplog: pytest.LogCaptureFixture) -> None:
    from sharestack.wechat.client import wechat_from_settings

    full = Settings(
        _env_file=None,
        wechat_web_appid="wxA",
        wechat_web_secret="s" * 32,
        wechat_web_redirect_uri="https://example.com/cb",
        wechat_mini_appid="wxB",
        wechat_mini_secret="m" * 32,
    )
    client = wechat_from_settings(full)
    assert client.web is not None
    assert client.mini is not None
    assert "appid=wxA" in client.authorize_url("st")
    partial = wechat_from_settings(
        Settings(_env_file=None, wechat_web_appid="wxA", wechat_web_secret="s" * 32)
    )
    assert partial.web is None
    assert partial.mini is None
    assert "needed together" in caplog.text
