"""ShareStack settings, read from the environment and `.env`.

With neither ``DATABASE_URL`` nor ``REDIS_URL`` set, ShareStack runs embedded: SQLite under
``./var/`` and an in-process Redis-compatible store. Outside development, placeholder secrets are
refused at start-up rather than discovered in production.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev-secret-change-me"})
DEV_SECRET_KEY = "dev-secret-change-me"  # noqa: S105 - the development placeholder, refused elsewhere


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Environment = Environment.development
    secret_key: str = Field(
        default=DEV_SECRET_KEY,
        description="Key for HMAC-hashing session tokens. Required outside development.",
    )
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("var")

    # --- database -------------------------------------------------------------------------
    database_url: str | None = Field(
        default=None, description="Primary. Unset: embedded SQLite at DATA_DIR/sharestack.db"
    )
    database_replica_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    db_pool_size: int = Field(default=10, ge=1, le=500)
    db_max_overflow: int = Field(default=5, ge=0, le=500)
    # MySQL closes idle connections after wait_timeout (28800 s by default); recycle well before.
    db_pool_recycle: int = Field(default=1800, ge=1)
    db_pool_timeout: float = Field(default=10.0, gt=0)
    db_echo: bool = False
    # Read replicas (sharestack.db.replicas / consistency): read-your-writes mode (gtid | sticky
    # | off), the sticky window, the longest a read waits for the caller's GTID on a replica, the
    # lag beyond which a replica gets no reads, how often replicas are sampled, and how long a
    # replica may take to answer a connect or a sample.
    db_read_your_writes: Literal["gtid", "sticky", "off"] = "gtid"
    db_sticky_seconds: float = Field(default=2.0, ge=0)
    db_gtid_wait_timeout: float = Field(default=0.2, gt=0, le=30)
    db_replica_max_lag_seconds: float = Field(default=5.0, ge=0)
    db_replica_check_interval: float = Field(default=1.0, gt=0)
    db_replica_timeout: float = Field(default=2.0, gt=0)

    # --- redis ----------------------------------------------------------------------------
    redis_url: str | None = Field(default=None, description="Unset: in-process store")
    redis_sessions_url: str | None = None
    redis_cache_url: str | None = None
    redis_queue_url: str | None = None
    redis_ratelimit_url: str | None = None
    redis_key_prefix: str = "ss:"
    # Per role and process; a request waits for a free connection rather than failing.
    redis_max_connections: int = Field(default=100, ge=2, le=10_000)
    # How long a command keeps retrying through a failover before the request fails (503).
    redis_retry_budget_seconds: float = Field(default=8.0, ge=0, le=60)
    # Sentinel: with REDIS_SENTINELS set, every role whose URL comes from REDIS_URL finds its
    # master through Sentinel (the URL still gives DB and password); a role with its own
    # REDIS_<ROLE>_URL (typically the cache instance) connects directly.
    redis_sentinels: str | None = Field(default=None, description="host:port,host:port,...")
    redis_sentinel_master: str = "sharestack"
    redis_sentinel_password: str | None = None

    # --- cache, rate limits, jobs (the Redis tier) ----------------------------------------
    cache_enabled: bool = True
    cache_stampede_guard: bool = True
    # In-process L1 in front of the cache Redis (sharestack.cache.local): how long an entry is
    # served without asking Redis (the staleness bound for other processes; 0 turns it off),
    # and how many entries each process keeps.
    cache_l1_ttl_seconds: float = Field(default=1.0, ge=0, le=60)
    cache_l1_size: int = Field(default=10_000, ge=0, le=1_000_000)
    rate_limit_enabled: bool = True
    # "N/second|minute|hour|day" (also "N/5minutes"); GCRA: a burst of N, then N per period.
    rate_limit_anonymous: str = "300/minute"
    rate_limit_authenticated: str = "1200/minute"
    rate_limit_auth: str = Field(
        default="10/minute", description="login, register and password attempts, per IP"
    )
    worker_concurrency: int = Field(default=10, ge=1, le=200)
    # API worker processes `serve` starts (uvicorn --workers); migrations run once before.
    web_concurrency: int = Field(default=1, ge=1, le=64)
    # Password hashing bulkhead (sharestack.bulkhead): hashes at once (unset: one per core),
    # waiters beyond them (unset: two per thread), and the longest wait for a thread; past
    # either bound a log-in is answered 503 with Retry-After at once.
    password_hash_concurrency: int | None = Field(default=None, ge=1, le=64)
    password_hash_queue: int | None = Field(default=None, ge=0, le=1000)
    password_hash_max_wait: float = Field(default=1.0, gt=0, le=30)
    metrics_enabled: bool = True

    # --- ledger (sharestack.ledger) ---------------------------------------------------------
    # The platform's share of each payment in basis points (1000 = 10 %), rounded down in fen.
    platform_fee_bps: int = Field(default=1000, ge=0, le=10_000)
    # How long a payment's money stays pending (refundable from the creator's pending balance)
    # before it becomes available for payout.
    ledger_hold_days: int = Field(default=7, ge=0, le=365)
    # Smallest payout a creator may request, in minor units (1000 = 10.00).
    ledger_min_payout_amount: int = Field(default=1000, ge=1)
    # Payments one hold release transaction handles; the job loops until none is due.
    ledger_release_batch: int = Field(default=200, ge=1, le=10_000)

    # --- payouts (sharestack.payouts) ------------------------------------------------------
    # Per creator and Beijing calendar day: how many payouts may be requested, and their total
    # in minor units (the smallest payout is LEDGER_MIN_PAYOUT_AMOUNT).
    payout_daily_count_limit: int = Field(default=5, ge=1, le=1000)
    payout_daily_amount_limit: int = Field(default=5_000_000, ge=1)
    # An unconfirmed WeChat Pay transfer (WAIT_USER_CONFIRM) is cancelled after this long and the
    # payout reversed; WeChat Pay closes it by itself after 24 hours.
    payout_confirm_timeout_seconds: int = Field(default=43_200, ge=0, le=86_400)
    # Payouts one run of the sending job handles, and how many provider calls run at once.
    payout_send_batch: int = Field(default=50, ge=1, le=1000)
    payout_send_concurrency: int = Field(default=4, ge=1, le=50)
    # After an unclear answer (timeout, 5xx) the job queries again after 30 s, doubling up to this.
    payout_retry_max_seconds: int = Field(default=3600, ge=30)
    # How many past days the daily reconciliation job (re)checks: statements are published the
    # next morning and a late refund may change yesterday's.
    reconciliation_days_back: int = Field(default=2, ge=1, le=31)

    # --- auth -----------------------------------------------------------------------------
    session_ttl_seconds: int = Field(default=14 * 24 * 3600, ge=60)
    session_cookie_name: str = "ss_session"
    cookie_secure: bool = False

    # --- http -----------------------------------------------------------------------------
    forwarded_allow_ips: str = "127.0.0.1"
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # The benchmark's baseline route (sharestack.health.baseline); never on in production.
    bench_endpoints: bool = False

    # --- payments (sharestack.payments.providers.factory) ----------------------------------
    # A provider is enabled only when all of its settings are present (a partial set is
    # logged and left off); the sandbox only when ENVIRONMENT is development or test.
    provider_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    sandbox_payments_secret: str | None = Field(
        default=None, description="HMAC key of sandbox notifications; development has a default"
    )
    wechatpay_mchid: str | None = None
    wechatpay_appid: str | None = None
    wechatpay_serial_no: str | None = Field(default=None, description="merchant API certificate")
    wechatpay_private_key_path: Path | None = None
    wechatpay_apiv3_key: str | None = Field(default=None, description="32 characters")
    # Verification: the WeChat Pay public key (id PUB_KEY_ID_..., every merchant since late
    # 2024) and/or a platform certificate (older merchants); both may be set while migrating.
    wechatpay_public_key_id: str | None = None
    wechatpay_public_key_path: Path | None = None
    wechatpay_platform_cert_path: Path | None = None
    wechatpay_base_url: str = "https://api.mch.weixin.qq.com"
    # 商家转账 scene of creator payouts (1005 佣金报酬), as approved in the merchant console.
    wechatpay_transfer_scene_id: str = "1005"
    alipay_app_id: str | None = None
    alipay_private_key_path: Path | None = None
    alipay_public_key_path: Path | None = Field(default=None, description="Alipay's public key")
    alipay_seller_id: str | None = Field(default=None, description="the 2088... partner id")
    alipay_gateway: str = "https://openapi.alipay.com/gateway.do"
    alipay_sign_scene: str = Field(
        default="INDUSTRY|DIGITAL_MEDIA", description="周期扣款 scene agreed with Alipay"
    )

    # --- billing (sharestack.payments, sharestack.subscriptions) ---------------------------
    # Where providers reach this API: notifications go to {base}/api/v1/webhooks/{provider}.
    payments_public_base_url: str = "http://127.0.0.1:8000"
    # How long a money-moving request's Idempotency-Key and stored response are kept.
    idempotency_ttl_hours: int = Field(default=24, ge=24, le=24 * 30)
    # A renewal that failed is retried every RENEWAL_RETRY_HOURS while the subscription is
    # past_due; access (and retries) end SUBSCRIPTION_GRACE_DAYS after the paid period.
    renewal_retry_hours: float = Field(default=24, gt=0)
    subscription_grace_days: float = Field(default=3, ge=0)

    @field_validator("rate_limit_anonymous", "rate_limit_authenticated", "rate_limit_auth")
    @classmethod
    def _rate_limit_syntax(cls, value: str) -> str:
        from sharestack.ratelimit.limiter import Limit

        Limit.parse(value)  # fail at start-up, not on the first request
        return value

    @field_validator("database_replica_urls", mode="before")
    @classmethod
    def _replicas_csv(cls, value: object) -> object:
        return _split_csv(value)

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Self:
        if self.environment is Environment.development:
            return self
        if self.secret_key in PLACEHOLDER_SECRETS or len(self.secret_key) < 32:
            raise ValueError(
                "SECRET_KEY must be set to a random value of at least 32 characters outside "
                "development (generate one with: python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))')"
            )
        for url in [self.database_url, self.redis_url, *self.database_replica_urls]:
            if url and any(f":{p}@" in url for p in PLACEHOLDER_SECRETS - {""}):
                raise ValueError("a database or Redis URL still carries a placeholder password")
        return self

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def primary_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'sharestack.db').as_posix()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
