"""Which providers a process offers: only fully configured ones; the sandbox never in
production."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sharestack.config import Settings
from sharestack.payments.providers import providers_from_settings
from tests.support.payment_keys import KeyPair

SECRET = "x" * 48


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def key_files(
    tmp_path_factory: pytest.TempPathFactory, merchant_key: KeyPair, wechat_key: KeyPair
) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("keys")
    files = {
        "private": merchant_key.private_pem,
        "public": wechat_key.public_pem,
        "cert": wechat_key.certificate_pem(0xABC123),
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    return {name: root / name for name in files}


def _wechat(files: dict[str, Path], **overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "wechatpay_mchid": "1900000109",
        "wechatpay_appid": "wxd678efh567hg6787",
        "wechatpay_serial_no": "3775B6A45ACD588826D15E583A95F5DD2AA85D5E",
        "wechatpay_private_key_path": files["private"],
        "wechatpay_apiv3_key": "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb",
        "wechatpay_public_key_id": "PUB_KEY_ID_0119000001092025120100000000000001",
        "wechatpay_public_key_path": files["public"],
    }
    values.update(overrides)
    return values


def test_development_has_the_sandbox_only() -> None:
    assert set(providers_from_settings(_settings())) == {"sandbox"}


def test_test_environment_needs_a_sandbox_secret() -> None:
    assert providers_from_settings(_settings(environment="test", secret_key=SECRET)) == {}
    configured = _settings(environment="test", secret_key=SECRET, sandbox_payments_secret="s" * 32)
    assert set(providers_from_settings(configured)) == {"sandbox"}


def test_production_never_has_the_sandbox() -> None:
    production = _settings(
        environment="production", secret_key=SECRET, sandbox_payments_secret="s" * 32
    )
    assert providers_from_settings(production) == {}


def test_wechatpay_in_public_key_mode_or_with_a_platform_certificate(
    key_files: dict[str, Path],
) -> None:
    settings = _settings(environment="production", secret_key=SECRET, **_wechat(key_files))
    assert set(providers_from_settings(settings)) == {"wechatpay"}
    with_cert = _wechat(
        key_files,
        wechatpay_public_key_id=None,
        wechatpay_public_key_path=None,
        wechatpay_platform_cert_path=key_files["cert"],
    )
    settings = _settings(environment="production", secret_key=SECRET, **with_cert)
    assert set(providers_from_settings(settings)) == {"wechatpay"}


@pytest.mark.parametrize(
    "missing", ["wechatpay_apiv3_key", "wechatpay_private_key_path", "wechatpay_public_key_path"]
)
def test_incomplete_wechatpay_is_off_and_says_why(
    key_files: dict[str, Path], missing: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(
        environment="production", secret_key=SECRET, **_wechat(key_files, **{missing: None})
    )
    with caplog.at_level(logging.WARNING):
        assert providers_from_settings(settings) == {}
    assert "wechatpay is not enabled" in caplog.text
    assert missing.upper() in caplog.text


def test_a_placeholder_apiv3_key_fails_start_up(key_files: dict[str, Path]) -> None:
    settings = _settings(**_wechat(key_files, wechatpay_apiv3_key="change-me"))
    with pytest.raises(ValueError, match="placeholder"):
        providers_from_settings(settings)


def test_alipay(key_files: dict[str, Path]) -> None:
    values = {
        "alipay_app_id": "2021000000000001",
        "alipay_private_key_path": key_files["private"],
        "alipay_public_key_path": key_files["public"],
        "alipay_seller_id": "2088102146225135",
    }
    settings = _settings(environment="production", secret_key=SECRET, **values)
    assert set(providers_from_settings(settings)) == {"alipay"}
    partial = {**values, "alipay_seller_id": None}
    assert (
        providers_from_settings(_settings(environment="production", secret_key=SECRET, **partial))
        == {}
    )
