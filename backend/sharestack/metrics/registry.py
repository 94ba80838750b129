"""Every metric the API and the worker export, in one registry.

A private registry (not prometheus-client's global one) so that several apps in one test process
do not collide, and so /metrics shows only ShareStack's figures plus the process collector.
Names match deploy/prometheus/alerts.yml; change both together.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)

# -- cache ---------------------------------------------------------------------------------------
CACHE_HITS = Counter(
    "sharestack_cache_hits", "Cache reads answered from Redis", ["family"], registry=REGISTRY
)
CACHE_MISSES = Counter(
    "sharestack_cache_misses",
    "Cache reads that went to the database",
    ["family"],
    registry=REGISTRY,
)
CACHE_LOADS = Counter(
    "sharestack_cache_loads",
    "Database loads made to fill the cache (fewer than misses when the stampede guard works)",
    ["family"],
    registry=REGISTRY,
)
CACHE_ERRORS = Counter(
    "sharestack_cache_errors", "Cache Redis errors (each opens the breaker)", registry=REGISTRY
)
FAST_LANE_ANSWERS = Counter(
    "sharestack_fast_lane_answers",
    "Anonymous content reads answered from the in-process L1 before routing (content.fastlane)",
    registry=REGISTRY,
)

# -- rate limiting ------------------------------------------------------------------------------
RATELIMIT_REJECTED = Counter(
    "sharestack_ratelimit_rejected", "Requests answered 429", ["scope"], registry=REGISTRY
)
BULKHEAD_REJECTED = Counter(
    "sharestack_bulkhead_rejected",
    "Expensive work refused (503) or skipped: queue full, waited too long, client gone",
    ["bulkhead", "reason"],
    registry=REGISTRY,
)
RATELIMIT_ERRORS = Counter(
    "sharestack_ratelimit_errors",
    "Rate-limit checks that could not reach Redis (the request was let through)",
    registry=REGISTRY,
)

# -- HTTP -----------------------------------------------------------------------------------------
REQUEST_LATENCY = Histogram(
    "sharestack_http_request_duration_seconds",
    "Time from request start to the end of the response body",
    ["method", "handler", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
ADMISSION_WAIT = Histogram(
    "sharestack_admission_wait_seconds",
    "Time a routed request waited for one of the process's in-flight places (admission)",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
ADMISSION_REFUSED = Counter(
    "sharestack_admission_refused",
    "Requests answered 503 after waiting REQUEST_QUEUE_SECONDS for an in-flight place",
    registry=REGISTRY,
)

# -- Redis, per role (filled at scrape time from INFO) -------------------------------------------
REDIS_UP = Gauge(
    "sharestack_redis_up", "1 if the role's Redis answered INFO", ["role"], registry=REGISTRY
)
REDIS_USED_MEMORY = Gauge(
    "sharestack_redis_used_memory_bytes", "INFO used_memory", ["role"], registry=REGISTRY
)
REDIS_MAXMEMORY = Gauge(
    "sharestack_redis_maxmemory_bytes",
    "INFO maxmemory (0 = unbounded)",
    ["role"],
    registry=REGISTRY,
)
REDIS_EVICTED = Gauge(
    "sharestack_redis_evicted_keys_total",
    "INFO evicted_keys (a Redis counter, reset on restart)",
    ["role"],
    registry=REGISTRY,
)
REDIS_KEYSPACE_HITS = Gauge(
    "sharestack_redis_keyspace_hits_total", "INFO keyspace_hits", ["role"], registry=REGISTRY
)
REDIS_KEYSPACE_MISSES = Gauge(
    "sharestack_redis_keyspace_misses_total", "INFO keyspace_misses", ["role"], registry=REGISTRY
)
REDIS_CLIENTS = Gauge(
    "sharestack_redis_connected_clients", "INFO connected_clients", ["role"], registry=REGISTRY
)
REDIS_IS_MASTER = Gauge(
    "sharestack_redis_is_master", "1 if the role talks to a master", ["role"], registry=REGISTRY
)
REDIS_REPLICAS = Gauge(
    "sharestack_redis_connected_replicas", "INFO connected_slaves", ["role"], registry=REGISTRY
)
REDIS_REPLICA_LAG = Gauge(
    "sharestack_redis_replica_lag_bytes",
    "master_repl_offset minus the slowest replica's acknowledged offset",
    ["role"],
    registry=REGISTRY,
)
REDIS_KEYS = Gauge("sharestack_redis_keys", "Keys in the role's DB", ["role"], registry=REGISTRY)

# -- queue and outbox ----------------------------------------------------------------------------
QUEUE_QUEUED = Gauge(
    "sharestack_queue_jobs_queued", "Jobs waiting for a worker", ["queue"], registry=REGISTRY
)
QUEUE_ACTIVE = Gauge(
    "sharestack_queue_jobs_active", "Jobs a worker is running", ["queue"], registry=REGISTRY
)
OUTBOX_PENDING = Gauge(
    "sharestack_outbox_pending", "Committed jobs not yet handed to the queue", registry=REGISTRY
)
JOBS_RUN = Counter(
    "sharestack_jobs",
    "Jobs finished, by function and outcome",
    ["function", "outcome"],
    registry=REGISTRY,
)

# -- database pool --------------------------------------------------------------------------------
DB_POOL_CHECKED_OUT = Gauge(
    "sharestack_db_pool_checked_out", "Connections in use", ["engine"], registry=REGISTRY
)
DB_POOL_CAPACITY = Gauge(
    "sharestack_db_pool_capacity", "pool_size + max_overflow", ["engine"], registry=REGISTRY
)
DB_POOL_OVERFLOW = Gauge(
    "sharestack_db_pool_overflow", "Connections beyond pool_size", ["engine"], registry=REGISTRY
)

# -- payments -------------------------------------------------------------------------------------
# WeChat Pay probes every merchant with deliberately mis-signed notifications; those are counted
# here under reason="signature_probe" instead of being logged as errors.
PAYMENT_NOTIFICATIONS_REJECTED = Counter(
    "sharestack_payment_notifications_rejected",
    "Provider notifications refused, by provider and reason",
    ["provider", "reason"],
    registry=REGISTRY,
)
PAYMENTS = Counter(
    "sharestack_payments",
    "Payment status changes, by provider and the status reached",
    ["provider", "status"],
    registry=REGISTRY,
)
PAYMENT_IDEMPOTENT_REPLAYS = Counter(
    "sharestack_payment_idempotent_replays",
    "Money-moving requests answered from a stored response (a retry with the same key)",
    ["operation"],
    registry=REGISTRY,
)
RENEWALS = Counter(
    "sharestack_renewals",
    "Renewal charges, by outcome (charged, failed, unknown, pending)",
    ["provider", "outcome"],
    registry=REGISTRY,
)
PAYMENTS_UNSETTLED_AGE = Gauge(
    "sharestack_payments_unsettled_oldest_seconds",
    "Age of the oldest payment still unknown (or pending), read at scrape time",
    ["status"],
    registry=REGISTRY,
)

# -- payouts --------------------------------------------------------------------------------------
# Read from the database at scrape time (sharestack.payouts.reconciliation.open_mismatches).
RECONCILIATION_MISMATCHES = Gauge(
    "sharestack_reconciliation_mismatches",
    "Unresolved differences between provider statements and the ledger, by provider",
    ["provider"],
    registry=REGISTRY,
)
