"""Keys and adapters for the provider unit tests. No network: adapters are built, never
called over HTTP here (tests/system/test_payment_providers.py does that)."""

from __future__ import annotations

import pytest

from sharestack.payments.providers.alipay import AlipayConfig, AlipayProvider
from sharestack.payments.providers.wechatpay import WechatPayConfig, WechatPayProvider
from sharestack.payments.providers.wechatpay_crypto import WechatPayVerifier
from tests.support.payment_keys import KeyPair

NOW = 1_764_585_000.0  # a fixed clock: 2025-12-01 10:30 UTC
MCHID = "1900000109"
APPID = "wxd678efh567hg6787"
APIV3_KEY = b"a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"
PUB_KEY_ID = "PUB_KEY_ID_0119000001092025120100000000000001"
PLATFORM_SERIAL = 0x5157F09EFDC096DE15EBE81A47057A7232F1B8E1
ALIPAY_APP_ID = "2021000000000001"
SELLER_ID = "2088102146225135"


@pytest.fixture(scope="session")
def merchant_key() -> KeyPair:
    return KeyPair.generate()


@pytest.fixture(scope="session")
def wechat_key() -> KeyPair:
    """WeChat Pay's own key: the public key (public-key mode) and the platform certificate."""
    return KeyPair.generate()


@pytest.fixture(scope="session")
def alipay_key() -> KeyPair:
    return KeyPair.generate()


@pytest.fixture
def clock() -> list[float]:
    return [NOW]


@pytest.fixture
def wechat(merchant_key: KeyPair, wechat_key: KeyPair, clock: list[float]) -> WechatPayProvider:
    verifier = WechatPayVerifier(
        platform_keys={f"{PLATFORM_SERIAL:X}": wechat_key.public},
        public_key_id=PUB_KEY_ID,
        public_key=wechat_key.public,
    )
    config = WechatPayConfig(
        mchid=MCHID,
        appid=APPID,
        serial_no="3775B6A45ACD588826D15E583A95F5DD2AA85D5E",
        private_key=merchant_key.private,
        apiv3_key=APIV3_KEY,
        verifier=verifier,
    )
    return WechatPayProvider(config, clock=lambda: clock[0])


@pytest.fixture
def alipay(merchant_key: KeyPair, alipay_key: KeyPair, clock: list[float]) -> AlipayProvider:
    config = AlipayConfig(
        app_id=ALIPAY_APP_ID,
        private_key=merchant_key.private,
        alipay_public_key=alipay_key.public,
        seller_id=SELLER_ID,
    )
    return AlipayProvider(config, clock=lambda: clock[0])
