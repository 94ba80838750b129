"""Database time per connection checkout (pool wait + statements), from sharestack.db.timing."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from sharestack.db.engine import Database
from sharestack.db.timing import instrument
from sharestack.metrics.registry import REGISTRY

# Fine buckets below 10 ms: point lookups live there, and the aim is p99 < 10 ms.
_BUCKETS = (
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1,
    0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip

DB_TIME = Histogram(
    "sharestack_db_time_seconds",
    "Database time of one connection checkout: pool wait + statement round trips",
    ["engine"],
    buckets=_BUCKETS,
    registry=REGISTRY,
)
DB_POOL_WAIT = Histogram(
    "sharestack_db_pool_wait_seconds",
    "Time a checkout waited for a pooled connection (FIFO gate + pool)",
    ["engine"],
    buckets=_BUCKETS,
    registry=REGISTRY,
)
DB_QUERY = Histogram(
    "sharestack_db_query_seconds",
    "Statement time of one connection checkout (sum of its statements' round trips)",
    ["engine"],
    buckets=_BUCKETS,
    registry=REGISTRY,
)
DB_GTID_WAIT = Histogram(
    "sharestack_db_gtid_wait_seconds",
    "Time a replica read waited for the position it must have seen (read-your-writes, fills)",
    buckets=_BUCKETS,
    registry=REGISTRY,
)
DB_STATEMENTS = Counter(
    "sharestack_db_statements", "Statements executed", ["engine"], registry=REGISTRY
)


def _observe(engine: str, wait: float, query: float, statements: int) -> None:
    DB_POOL_WAIT.labels(engine).observe(wait)
    DB_QUERY.labels(engine).observe(query)
    DB_TIME.labels(engine).observe(wait + query)
    DB_STATEMENTS.labels(engine).inc(statements)


def instrument_database(db: Database) -> None:
    db.routing.wait_observers.append(lambda ms: DB_GTID_WAIT.observe(ms / 1000))
    instrument(db.write_engine, "primary", _observe)
    for i, engine in enumerate(db.read_engines):
        instrument(engine, f"replica{i}", _observe)
