"""Which providers this process offers, from settings.

A provider is enabled only when every one of its settings is present: absent settings mean
"not offered here", never a provider that half works. Some-but-not-all is almost always a
deployment mistake, so it is logged. Settings that are all present but wrong (an unreadable key
file, an APIv3 key of the wrong length, a placeholder secret) fail start-up instead: the
operator meant to enable the provider. The sandbox exists only in development and test.
"""

from __future__ import annotations

import logging
from typing import Any

from sharestack.config import PLACEHOLDER_SECRETS, Environment, Settings
from sharestack.payments.providers import _rsa
from sharestack.payments.providers.alipay import AlipayConfig, AlipayProvider
from sharestack.payments.providers.base import PaymentProvider
from sharestack.payments.providers.sandbox import SandboxProvider, SandboxStore
from sharestack.payments.providers.sandbox_transfers import SandboxTransfers
from sharestack.payments.providers.transfers import StatementProvider, TransferProvider
from sharestack.payments.providers.wechatpay import WechatPayConfig, WechatPayProvider
from sharestack.payments.providers.wechatpay_crypto import WechatPayVerifier

logger = logging.getLogger(__name__)

DEV_SANDBOX_SECRET = "dev-sandbox-payments-secret"  # noqa: S105 - development only


def providers_from_settings(
    settings: Settings, *, sandbox_store: SandboxStore | None = None
) -> dict[str, PaymentProvider]:
    """``sandbox_store``: where the sandbox keeps its orders (in memory by default; the API and
    the worker share one in Redis, ``payments.runtime``)."""
    providers: dict[str, PaymentProvider] = {}
    sandbox = _sandbox(settings, sandbox_store)
    if sandbox is not None:
        providers[sandbox.name] = sandbox
    wechat = _wechatpay(settings)
    if wechat is not None:
        providers[wechat.name] = wechat
    alipay = _alipay(settings)
    if alipay is not None:
        providers[alipay.name] = alipay
    return providers


def transfer_providers_from_settings(
    settings: Settings,
) -> tuple[dict[str, TransferProvider], dict[str, StatementProvider]]:
    """The providers payouts can send through, and those whose statements are reconciled: the
    same adapters as ``providers_from_settings`` (WeChat Pay and Alipay do both), plus sandbox
    transfers wherever the sandbox is enabled. The caller closes them (``aclose``)."""
    transfers: dict[str, TransferProvider] = {}
    statements: dict[str, StatementProvider] = {}
    if _sandbox(settings, None) is not None:
        transfers["sandbox"] = SandboxTransfers()
    wechat = _wechatpay(settings)
    if wechat is not None:
        transfers[wechat.name] = statements[wechat.name] = wechat
    alipay = _alipay(settings)
    if alipay is not None:
        transfers[alipay.name] = statements[alipay.name] = alipay
    return transfers, statements


def _complete(name: str, values: dict[str, Any]) -> bool:
    missing = [key for key, value in values.items() if value in (None, "")]
    if missing and len(missing) < len(values):
        logger.warning("%s is not enabled: %s unset", name, ", ".join(missing).upper())
    return not missing


def _secret(name: str, value: str) -> str:
    if value in PLACEHOLDER_SECRETS:
        raise ValueError(f"{name} still holds a placeholder")
    return value


def _sandbox(settings: Settings, store: SandboxStore | None) -> SandboxProvider | None:
    if settings.environment is Environment.production:
        return None
    secret = settings.sandbox_payments_secret
    if not secret:
        if settings.environment is not Environment.development:
            return None
        secret = DEV_SANDBOX_SECRET
    return SandboxProvider(secret, store=store)


def _wechatpay(settings: Settings) -> WechatPayProvider | None:
    s = settings
    required = {
        "wechatpay_mchid": s.wechatpay_mchid,
        "wechatpay_appid": s.wechatpay_appid,
        "wechatpay_serial_no": s.wechatpay_serial_no,
        "wechatpay_private_key_path": s.wechatpay_private_key_path,
        "wechatpay_apiv3_key": s.wechatpay_apiv3_key,
    }
    public_key = s.wechatpay_public_key_id and s.wechatpay_public_key_path
    if not public_key and not s.wechatpay_platform_cert_path:
        required["wechatpay_public_key_path (or wechatpay_platform_cert_path)"] = None
    if not _complete("wechatpay", required):
        return None
    assert s.wechatpay_private_key_path is not None
    assert s.wechatpay_apiv3_key is not None
    verifier = WechatPayVerifier()
    if s.wechatpay_public_key_id and s.wechatpay_public_key_path:
        verifier.public_key_id = s.wechatpay_public_key_id
        verifier.public_key = _rsa.load_public_key(s.wechatpay_public_key_path)
    if s.wechatpay_platform_cert_path:
        cert = s.wechatpay_platform_cert_path.read_bytes()
        verifier.platform_keys[_rsa.certificate_serial(cert)] = _rsa.load_public_key(cert)
    config = WechatPayConfig(
        mchid=str(s.wechatpay_mchid),
        appid=str(s.wechatpay_appid),
        serial_no=str(s.wechatpay_serial_no),
        private_key=_rsa.load_private_key(s.wechatpay_private_key_path),
        apiv3_key=_secret("WECHATPAY_APIV3_KEY", s.wechatpay_apiv3_key).encode(),
        verifier=verifier,
        base_url=s.wechatpay_base_url.rstrip("/"),
        timeout=s.provider_timeout_seconds,
        transfer_scene_id=s.wechatpay_transfer_scene_id,
    )
    return WechatPayProvider(config)


def _alipay(settings: Settings) -> AlipayProvider | None:
    s = settings
    required = {
        "alipay_app_id": s.alipay_app_id,
        "alipay_private_key_path": s.alipay_private_key_path,
        "alipay_public_key_path": s.alipay_public_key_path,
        "alipay_seller_id": s.alipay_seller_id,
    }
    if not _complete("alipay", required):
        return None
    assert s.alipay_private_key_path is not None
    assert s.alipay_public_key_path is not None
    config = AlipayConfig(
        app_id=str(s.alipay_app_id),
        private_key=_rsa.load_private_key(s.alipay_private_key_path),
        alipay_public_key=_rsa.load_public_key(s.alipay_public_key_path),
        seller_id=str(s.alipay_seller_id),
        gateway=s.alipay_gateway,
        timeout=s.provider_timeout_seconds,
        sign_scene=s.alipay_sign_scene,
    )
    return AlipayProvider(config)
