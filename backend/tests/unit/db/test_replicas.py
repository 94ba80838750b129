"""Replica breaker decisions, read-your-writes tokens and replica choice (no I/O)."""

from __future__ import annotations

import time

import pytest

from sharestack.config import Settings
from sharestack.db.consistency import Token, decode_token, encode_token
from sharestack.db.engine import Database
from sharestack.db.replicas import evaluate

HEALTHY = {"Slave_IO_Running": "Yes", "Slave_SQL_Running": "Yes", "Seconds_Behind_Master": 0}


@pytest.mark.parametrize(
    ("status", "healthy", "reason"),
    [
        (HEALTHY, True, None),
        ({**HEALTHY, "Seconds_Behind_Master": 9}, False, "lag 9 s > 5 s"),
        ({**HEALTHY, "Slave_SQL_Running": "No"}, False, "SQL thread not running (No)"),
        (
            {**HEALTHY, "Slave_IO_Running": "Connecting"},
            False,
            "IO thread not running (Connecting)",
        ),
        ({**HEALTHY, "Seconds_Behind_Master": None}, False, "lag unknown"),
        (None, False, "replication is not configured on this server"),
        # MySQL 8.0 column names
        (
            {"Replica_IO_Running": "Yes", "Replica_SQL_Running": "Yes", "Seconds_Behind_Source": 1},
            True,
            None,
        ),
    ],
)
def test_breaker_decision(
    status: dict[str, object] | None, healthy: bool, reason: str | None
) -> None:
    ok, why, _lag = evaluate(status, max_lag=5)
    assert (ok, why) == (healthy, reason)


def test_token_round_trip_and_refusals() -> None:
    key, other = b"k" * 32, b"o" * 32
    token = Token(time.time() + 10, "0-1-42,1-2-7")
    raw = encode_token(key, token)
    assert decode_token(key, raw) == Token(float(f"{token.expires_at:.3f}"), token.gtid)
    assert decode_token(other, raw) is None  # signed with another key
    assert decode_token(key, raw.replace("0", "9", 1)) is None  # tampered
    assert decode_token(key, encode_token(key, Token(time.time() - 1, "0-1-1"))) is None  # expired
    assert decode_token(key, "garbage") is None
    assert decode_token(key, None) is None
    sticky = decode_token(key, encode_token(key, Token(time.time() + 5, "")))
    assert sticky is not None
    assert sticky.gtid == ""
    mysql = "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5,\n4F11FA47-71CA-11E1-9E33-C80AA9429562:1-9"
    decoded = decode_token(key, encode_token(key, Token(time.time() + 5, mysql)))
    assert decoded is not None
    assert decoded.gtid == mysql


def test_reads_skip_open_breakers_and_fall_back_to_the_primary() -> None:
    settings = Settings(
        environment="test",
        secret_key="unit-test-secret-key-0123456789abcdef",
        database_url="mysql+asyncmy://u:p@127.0.0.1:1/db",
        database_replica_urls="mysql+asyncmy://u:p@127.0.0.1:2/db,mysql+asyncmy://u:p@127.0.0.1:3/db",
    )
    db = Database(settings)
    assert db.routing.choose_replica() is None  # nothing sampled yet: every breaker starts open
    first, second = db.replicas
    first.mark(True, None, 0)
    second.mark(True, None, 0)
    assert {db.routing.choose_replica().name for _ in range(4)} == {"127.0.0.1:2", "127.0.0.1:3"}  # type: ignore[union-attr]
    db.routing.report_failure(first.engine, ConnectionError("gone"))
    assert not first.healthy
    assert first.trips == 1
    assert {db.routing.choose_replica().name for _ in range(4)} == {"127.0.0.1:3"}  # type: ignore[union-attr]
    assert db.routing.choose_replica(exclude=[second.engine]) is None
    assert [s["healthy"] for s in db.replica_health()] == [False, True]
