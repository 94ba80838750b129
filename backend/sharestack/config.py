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

from sharestack.sealing import parse_keys

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
    data_encryption_keys: str = Field(
        default="",
        repr=False,
        description="Keys sealing personal data at rest (sharestack.sealing): id:base64key,"
        " current first. Unset: one key derived from SECRET_KEY.",
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
    # served without asking Redis (0 turns it off) and how many entries each process keeps.
    # Writes reach every process's L1 over pub/sub at once; the TTL is the safety bound for an
    # invalidation lost without anyone noticing.
    cache_l1_ttl_seconds: float = Field(default=5.0, ge=0, le=60)
    cache_l1_size: int = Field(default=10_000, ge=0, le=1_000_000)
    rate_limit_enabled: bool = True
    # "N/second|minute|hour|day" (also "N/5minutes"); GCRA: a burst of N, then N per period.
    rate_limit_anonymous: str = "300/minute"
    rate_limit_authenticated: str = "1200/minute"
    rate_limit_auth: str = Field(
        default="10/minute",
        description="login, register, password attempts, phone codes and WeChat log-ins, per IP",
    )
    worker_concurrency: int = Field(default=10, ge=1, le=200)
    # API worker processes `serve` starts (uvicorn --workers); migrations run once before.
    web_concurrency: int = Field(default=1, ge=1, le=64)
    # Routed requests one API process works on at once (sharestack.admission); the others wait
    # their turn in arrival order, at most REQUEST_QUEUE_SECONDS, then get 503 + Retry-After.
    max_requests_in_flight: int = Field(default=16, ge=1, le=10_000)
    request_queue_seconds: float = Field(default=10.0, gt=0, le=300)
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
    # However busy a session is kept, it ends this long after the log-in.
    session_absolute_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=1)
    session_cookie_name: str = "ss_session"
    cookie_secure: bool = False
    # Single-use links sent by email; only their HMAC digests are stored.
    password_reset_ttl_seconds: int = Field(default=15 * 60, ge=60, le=24 * 3600)
    email_verify_ttl_seconds: int = Field(default=48 * 3600, ge=300, le=30 * 24 * 3600)
    # Where the web pages live that emailed links open ({base}/reset-password#token=...).
    public_base_url: str = "http://127.0.0.1:8000"

    # --- email (sharestack.email) --------------------------------------------------------------
    # With SMTP_HOST unset: the console outbox (log) in development and test; in production
    # every send fails (and says so) rather than printing links into the log.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    # starttls (submission, 587), tls (implicit TLS, 465) or none (a local relay only).
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    email_from: str = "ShareStack <no-reply@localhost>"

    # --- phone and WeChat log-in (sharestack.sms, sharestack.wechat, auth/phone, auth/wechat) --
    # Numbers written without +country code are read as this region's (ISO 3166 alpha-2).
    phone_default_region: str = "CN"
    # console (development and test only: codes go to Redis, and to the log in development; in
    # production it means "no SMS": phone log-in is off), aliyun or tencent.
    sms_provider: Literal["console", "aliyun", "tencent"] = "console"
    sms_code_ttl_seconds: int = Field(default=300, ge=60, le=3600)
    sms_code_max_attempts: int = Field(default=5, ge=1, le=20)
    # Code requests, on top of RATE_LIMIT_AUTH: comma-separated limits per number and per IP.
    sms_limits_per_number: str = "1/minute,10/day"
    sms_limits_per_ip: str = "5/minute,50/day"
    aliyun_sms_access_key_id: str | None = None
    aliyun_sms_access_key_secret: str | None = None
    aliyun_sms_sign_name: str | None = Field(default=None, description="approved 签名")
    aliyun_sms_template_code: str | None = Field(default=None, description="SMS_..., ${code}")
    aliyun_sms_endpoint: str = "https://dysmsapi.aliyuncs.com"
    tencent_sms_secret_id: str | None = None
    tencent_sms_secret_key: str | None = None
    tencent_sms_sdk_app_id: str | None = Field(default=None, description="1400...")
    tencent_sms_sign_name: str | None = None
    tencent_sms_template_id: str | None = Field(default=None, description="one parameter: code")
    tencent_sms_region: str = "ap-guangzhou"
    tencent_sms_endpoint: str = "https://sms.tencentcloudapi.com"
    # WeChat website QR log-in (open platform 网站应用, snsapi_login) and mini-program log-in.
    wechat_web_appid: str | None = None
    wechat_web_secret: str | None = None
    # Where WeChat sends the browser back with ?code&state (a page of the web client).
    wechat_web_redirect_uri: str | None = None
    wechat_mini_appid: str | None = None
    wechat_mini_secret: str | None = None
    wechat_api_base_url: str = "https://api.weixin.qq.com"
    wechat_open_base_url: str = "https://open.weixin.qq.com"
    wechat_state_ttl_seconds: int = Field(default=600, ge=60, le=3600)

    # --- http -----------------------------------------------------------------------------
    forwarded_allow_ips: str = "127.0.0.1"
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # The benchmark's baseline route (sharestack.health.baseline); never on in production.
    bench_endpoints: bool = False

    # --- media (sharestack.media, sharestack.storage) --------------------------------------
    # Where files go: "local" (MEDIA_ROOT, the media volume nginx serves) or "s3" (any
    # S3-compatible object storage: AWS S3, Aliyun OSS, Tencent COS, MinIO).
    media_storage: Literal["local", "s3"] = "local"
    media_root: Path | None = Field(default=None, description="Unset: DATA_DIR/media")
    # One uploaded file. The upload routes accept this plus MEDIA_MULTIPART_OVERHEAD_BYTES of
    # multipart envelope; nginx's client_max_body_size for them must equal that sum.
    media_max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    media_multipart_overhead_bytes: int = Field(default=64 * 1024, ge=1024, le=1024 * 1024)
    # Decompression-bomb guard: refused from the header, before any pixel is decoded.
    media_max_pixels: int = Field(default=50_000_000, ge=1, le=200_000_000)
    media_max_dimension: int = Field(default=16_384, ge=16, le=65_535)
    # Per user, over the items not deleted.
    media_quota_count: int = Field(default=1000, ge=1)
    media_quota_bytes: int = Field(default=1024 * 1024 * 1024, ge=1024)
    # WebP variants made by a job, never wider than the original.
    media_variant_widths: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: [320, 960, 1920]
    )
    # Public files: this base + "/" + key (nginx's /media/, or the bucket's or CDN's URL).
    media_public_base_url: str = "/media"
    # Protected files: with local storage, "X-Accel-Redirect: /_protected_media/..." for nginx
    # (true behind nginx) or the API streams the file itself (embedded runs); with S3, a
    # redirect to a signed URL valid this long.
    media_accel_redirect: bool = False
    media_signed_url_seconds: int = Field(default=300, ge=10, le=86_400)
    # Deleted media (and media of deleted articles) keep their files this long before the
    # cleanup job removes what nothing references.
    media_cleanup_grace_seconds: int = Field(default=24 * 3600, ge=0)
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = Field(
        default=None, description="e.g. https://oss-cn-hangzhou.aliyuncs.com; unset for AWS"
    )
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_addressing_style: Literal["virtual", "path"] = "virtual"
    s3_prefix: str = Field(default="", pattern=r"^([a-z0-9_-]+/)*$")

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

    @field_validator("sms_limits_per_number", "sms_limits_per_ip")
    @classmethod
    def _sms_limit_syntax(cls, value: str) -> str:
        from sharestack.ratelimit.limiter import Limit

        if not [Limit.parse(part) for part in value.split(",") if part.strip()]:
            raise ValueError("at least one limit, like '1/minute,10/day'")
        return value

    @field_validator("database_replica_urls", mode="before")
    @classmethod
    def _replicas_csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("data_encryption_keys")
    @classmethod
    def _keys_parse(cls, value: str) -> str:
        parse_keys(value)  # a malformed key list fails at start-up, naming the fault
        return value

    @field_validator("media_variant_widths", mode="before")
    @classmethod
    def _widths_csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("media_variant_widths")
    @classmethod
    def _widths_sane(cls, value: list[int]) -> list[int]:
        if not value or any(w < 16 or w > 8192 for w in value):
            raise ValueError("MEDIA_VARIANT_WIDTHS: one or more widths between 16 and 8192")
        return sorted(set(value))

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
        for name in (
            "aliyun_sms_access_key_secret",
            "tencent_sms_secret_key",
            "wechat_web_secret",
            "wechat_mini_secret",
        ):
            value = getattr(self, name)
            if value is not None and value.strip().lower() in PLACEHOLDER_SECRETS:
                raise ValueError(f"{name.upper()} still holds a placeholder")
        if self.smtp_password and self.smtp_password in PLACEHOLDER_SECRETS:
            raise ValueError("SMTP_PASSWORD is a placeholder: set the real one or leave it unset")
        return self

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def resolved_media_root(self) -> Path:
        return self.media_root if self.media_root is not None else self.data_dir / "media"

    @property
    def media_upload_body_bytes(self) -> int:
        """The body limit of the upload routes (nginx's client_max_body_size for them)."""
        return self.media_max_upload_bytes + self.media_multipart_overhead_bytes

    @property
    def primary_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'sharestack.db').as_posix()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
