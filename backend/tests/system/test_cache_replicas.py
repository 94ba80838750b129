"""Cache fills with a real MariaDB replica: a fill after a write reads from a replica only once it
has applied that write (the GTID recorded with the new generation), so a lagging replica can
never put the old version in the cache; a replica that has caught up does serve the fills."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.mariadb import (
    MariaDBFactory,
    MariaDBServer,
    mariadb_factory_fixture,  # noqa: F401 - provides the mariadb_factory fixture
)
from tests.support.processes import ManagedProcess, api_argv, free_port, wait_until
from tests.support.redis_servers import BACKEND_DIR

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def stack(
    mariadb_factory: MariaDBFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    primary, replica = mariadb_factory.pair("cache")
    tmp = tmp_path_factory.mktemp("cache-api")
    port = free_port()
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "CACHE_"))},
        "ENVIRONMENT": "test",  # test secrets; tests/support/instrumented reports X-DB-Server
        "SECRET_KEY": secrets.token_urlsafe(32),
        "DATABASE_URL": primary.url(),
        "DATABASE_REPLICA_URLS": replica.url(),
        "DATA_DIR": str(tmp),
        "LOG_LEVEL": "WARNING",
        "DB_REPLICA_CHECK_INTERVAL": "0.25",
        "DB_REPLICA_MAX_LAG_SECONDS": "30",
        "RATE_LIMIT_ENABLED": "false",
    }
    proc = ManagedProcess(
        "api-cache",
        api_argv(port, instrumented=True),
        tmp / "api.log",
        env=environ,
        cwd=BACKEND_DIR,
    ).start()
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        body = httpx.get(f"{base}/readyz", timeout=2).json()
        return body["status"] == "ok" and all(c["ok"] for c in body["checks"].values())

    try:
        wait_until(ready, 60, "api ready", proc)
        yield {"primary": primary, "replica": replica, "base": base}
    finally:
        proc.stop()


def _sign_up(base: str) -> tuple[httpx.Client, int]:
    client = httpx.Client(base_url=base, timeout=10)
    email, password = f"c-{secrets.token_hex(4)}@example.com", secrets.token_urlsafe(12)
    r = client.post(
        "/api/v1/auth/register", json={"email": email, "password": password, "display_name": "v0"}
    )
    assert r.status_code == 201, r.text
    assert client.post("/api/v1/auth/login", json={"email": email, "password": password}).is_success
    return client, int(r.json()["id"])


def _anonymous_profile(base: str, user_id: int) -> httpx.Response:
    with httpx.Client(base_url=base, timeout=10) as anonymous:
        r = anonymous.get(f"/api/v1/users/{user_id}")
    assert r.status_code == 200, r.text
    return r


def _replica_breaker_closed(base: str) -> bool:
    checks = httpx.get(f"{base}/readyz", timeout=2).json()["checks"]
    return all(v["ok"] for k, v in checks.items() if k.startswith("db_replica_"))


def test_fills_wait_for_the_write_on_the_replica(stack: dict[str, Any]) -> None:
    primary: MariaDBServer = stack["primary"]
    replica: MariaDBServer = stack["replica"]
    base: str = stack["base"]
    writer, user_id = _sign_up(base)
    try:
        replica.wait_for_gtid(primary.gtid_binlog_pos())
        # Caught up: the write's fill is served by the replica.
        assert writer.patch("/api/v1/me", json={"display_name": "v1"}).status_code == 200
        first = _anonymous_profile(base, user_id)
        assert first.json()["display_name"] == "v1"
        assert first.headers["x-db-server"] == str(replica.server_id)
        # A hit: no database at all.
        assert "x-db-server" not in _anonymous_profile(base, user_id).headers

        # Lagging by an hour: the next write's fill must not read the replica.
        replica.query("STOP SLAVE")
        replica.query("CHANGE MASTER TO MASTER_DELAY = 3600")
        replica.query("START SLAVE")
        wait_until(replica.replication_running, 10, "delayed replica running")
        # Restarting replication opens the replica's breaker for a sample; wait until it closes,
        # so the fill below really has the lagging replica to choose.
        wait_until(lambda: _replica_breaker_closed(base), 10, "breaker closed")
        assert writer.patch("/api/v1/me", json={"display_name": "v2"}).status_code == 200
        after = _anonymous_profile(base, user_id)  # a caller with no read-your-writes token
        assert after.json()["display_name"] == "v2"
        assert after.headers["x-db-server"] == str(primary.server_id)
        assert _anonymous_profile(base, user_id).json()["display_name"] == "v2"
    finally:
        writer.close()
        replica.query("STOP SLAVE")
        replica.query("CHANGE MASTER TO MASTER_DELAY = 0")
        replica.query("START SLAVE")
