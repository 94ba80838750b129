"""The SMS sender this process uses, from SMS_PROVIDER and its settings (the console provider
never in production).

A chosen provider with a missing setting fails start-up (unlike payments, where an absent
provider is simply not offered: without SMS there is no phone log-in at all, so a half-configured
one is a deployment mistake to hear about at once)."""

from __future__ import annotations

import logging

from redis.asyncio import Redis

from sharestack.config import Environment, Settings
from sharestack.sms.aliyun import AliyunSms, AliyunSmsConfig
from sharestack.sms.base import SmsSender
from sharestack.sms.console import ConsoleSms
from sharestack.sms.tencent import TencentSms, TencentSmsConfig

logger = logging.getLogger(__name__)


def _required(settings: Settings, *names: str) -> list[str]:
    missing = [n.upper() for n in names if not getattr(settings, n)]
    if missing:
        raise ValueError(f"SMS_PROVIDER={settings.sms_provider} needs {', '.join(missing)}")
    return [str(getattr(settings, n)) for n in names]


def console_sms(settings: Settings, redis: Redis, prefix: str) -> ConsoleSms:
    return ConsoleSms(
        redis,
        prefix,
        ttl_seconds=settings.sms_code_ttl_seconds,
        log_codes=settings.environment is Environment.development,
    )


def sms_from_settings(settings: Settings, redis: Redis, console_prefix: str) -> SmsSender | None:
    """None in production without a real provider: phone log-in is then off (its routes say
    so), rather than codes being kept where an operator could read them."""
    s = settings
    if s.sms_provider == "aliyun":
        key_id, secret, sign, template = _required(
            s,
            "aliyun_sms_access_key_id",
            "aliyun_sms_access_key_secret",
            "aliyun_sms_sign_name",
            "aliyun_sms_template_code",
        )
        return AliyunSms(
            AliyunSmsConfig(
                key_id,
                secret,
                sign,
                template,
                endpoint=s.aliyun_sms_endpoint,
                timeout=s.provider_timeout_seconds,
            )
        )
    if s.sms_provider == "tencent":
        secret_id, secret_key, app_id, sign, template = _required(
            s,
            "tencent_sms_secret_id",
            "tencent_sms_secret_key",
            "tencent_sms_sdk_app_id",
            "tencent_sms_sign_name",
            "tencent_sms_template_id",
        )
        return TencentSms(
            TencentSmsConfig(
                secret_id,
                secret_key,
                app_id,
                sign,
                template,
                region=s.tencent_sms_region,
                endpoint=s.tencent_sms_endpoint,
                timeout=s.provider_timeout_seconds,
            )
        )
    if s.environment is Environment.production:
        logger.warning("SMS_PROVIDER is console in production: phone log-in is disabled")
        return None
    return console_sms(settings, redis, console_prefix)
