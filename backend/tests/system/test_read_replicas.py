"""Read/write splitting on a real MariaDB primary + GTID replica, over HTTP.

The API runs as a separate process, the real app with the test-only instrumentation of
``tests/support/instrumented.py``, which reports the ``@@server_id`` of the server(s) that served
each request in ``X-DB-Server``.
Figures (replication lag, the cost of read-your-writes) are printed, not asserted.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.mariadb import (
    APP_DB,
    MariaDBFactory,
    MariaDBServer,
    mariadb_factory_fixture,  # noqa: F401 - provides the mariadb_factory fixture
)
from tests.support.processes import ManagedProcess, api_argv, free_port, wait_until

pytestmark = pytest.mark.system

BACKEND = Path(__file__).resolve().parents[2]
FIGURES: dict[str, Any] = {}
# Every client the tests open, closed when the module's servers stop.
CLIENTS: list[httpx.Client] = []


class Api:
    def __init__(self, proc: ManagedProcess, base: str) -> None:
        self.proc, self.base = proc, base

    def client(self) -> httpx.Client:
        client = httpx.Client(base_url=self.base, timeout=10)
        CLIENTS.append(client)
        return client


def start_api(
    tmp: Path, primary: MariaDBServer, replica: MariaDBServer, name: str, **env: str
) -> Api:
    port = free_port()
    environ = {
        **os.environ,
        "ENVIRONMENT": "test",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "DATABASE_URL": primary.url(),
        "DATABASE_REPLICA_URLS": replica.url(),
        "DATA_DIR": str(tmp / name),
        "LOG_LEVEL": "WARNING",
        "DB_REPLICA_CHECK_INTERVAL": "0.25",
        "DB_REPLICA_MAX_LAG_SECONDS": "30",
        # These tests watch which server answers each read: every read must reach the database,
        # and the read streams must not be rate limited (the cache and the limits have their
        # own tests).
        "CACHE_ENABLED": "false",
        "RATE_LIMIT_ENABLED": "false",
        **env,
    }
    environ.pop("REDIS_URL", None)
    proc = ManagedProcess(
        name,
        api_argv(port, instrumented=True),
        tmp / f"{name}.log",
        env=environ,
        cwd=BACKEND,
    ).start()
    api = Api(proc, f"http://127.0.0.1:{port}")

    def ready() -> bool:
        body = httpx.get(f"{api.base}/readyz", timeout=2).json()
        return body["status"] == "ok" and all(c["ok"] for c in body["checks"].values())

    FIGURES[f"{name}_start_seconds"] = round(wait_until(ready, 60, f"{name} ready", proc), 2)
    return api


@pytest.fixture(scope="module")
def stack(
    mariadb_factory: MariaDBFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    primary, replica = mariadb_factory.pair("rw")
    tmp = tmp_path_factory.mktemp("api")
    api = start_api(tmp, primary, replica, "api-gtid")
    try:
        yield {"primary": primary, "replica": replica, "api": api, "tmp": tmp}
    finally:
        for client in CLIENTS:
            client.close()
        api.proc.stop()
        print("\nread-replica figures:", FIGURES)


def sign_up(api: Api, name: str) -> tuple[httpx.Client, int]:
    client = api.client()
    email = f"{name}-{secrets.token_hex(4)}@example.com"
    password = secrets.token_urlsafe(12)
    created = client.post(
        "/api/v1/auth/register", json={"email": email, "password": password, "display_name": name}
    )
    assert created.status_code == 201, created.text
    login = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    return client, int(created.json()["id"])


def caught_up(primary: MariaDBServer, replica: MariaDBServer) -> None:
    replica.wait_for_gtid(primary.gtid_binlog_pos())


def readyz_replica(api: Api) -> dict[str, Any]:
    body = httpx.get(f"{api.base}/readyz", timeout=2).json()
    entries = [v for k, v in body["checks"].items() if k.startswith("db_replica_")]
    assert len(entries) == 1, body
    assert body["status"] == "ok", body  # a replica is never critical
    return dict(entries[0])


def test_anonymous_read_is_served_by_the_replica_and_a_write_by_the_primary(
    stack: dict[str, Any],
) -> None:
    primary, replica, api = stack["primary"], stack["replica"], stack["api"]
    writer, user_id = sign_up(api, "routing")
    update = writer.patch("/api/v1/me", json={"bio": "written on the primary"})
    assert update.status_code == 200
    assert update.headers["x-db-server"] == str(primary.server_id)
    caught_up(primary, replica)

    selects_before = int(replica.query("SHOW GLOBAL STATUS LIKE 'Com_select'")[0][1])
    with api.client() as anonymous:
        read = anonymous.get(f"/api/v1/users/{user_id}")
    assert read.status_code == 200
    assert read.json()["bio"] == "written on the primary"
    assert read.headers["x-db-server"] == str(replica.server_id)
    assert int(replica.query("SHOW GLOBAL STATUS LIKE 'Com_select'")[0][1]) > selects_before


def test_writer_reads_their_own_write_while_the_replica_lags(stack: dict[str, Any]) -> None:
    primary, replica, api = stack["primary"], stack["replica"], stack["api"]
    writer, user_id = sign_up(api, "ryw")
    caught_up(primary, replica)
    # Delayed replication: the replica receives the write but applies it an hour later.
    replica.query("STOP SLAVE")
    replica.query("CHANGE MASTER TO MASTER_DELAY = 3600")
    replica.query("START SLAVE")
    try:
        wait_until(replica.replication_running, 10, "delayed replica running")
        # Restarting replication opened the breaker for a sample; wait for it to close.
        wait_until(lambda: readyz_replica(api)["ok"], 10, "breaker closed")
        update = writer.patch("/api/v1/me", json={"display_name": "after the write"})
        assert update.status_code == 200
        assert "ss_ryw" in update.cookies

        own = writer.get(f"/api/v1/users/{user_id}")
        assert own.status_code == 200
        assert own.json()["display_name"] == "after the write"
        # The GTID wait timed out on the replica, so the read went to the primary.
        assert own.headers["x-db-server"] == str(primary.server_id)
        FIGURES["ryw_wait_on_lagging_replica_ms"] = float(own.headers["x-db-wait-ms"])

        with api.client() as other:
            stale = other.get(f"/api/v1/users/{user_id}")
            # A client without cookies (bearer tokens) sends the token back in a header.
            by_header = other.get(
                f"/api/v1/users/{user_id}",
                headers={"X-Read-After": update.headers["x-read-after"]},
            )
        assert stale.headers["x-db-server"] == str(replica.server_id)
        assert stale.json()["display_name"] == "ryw"  # the replica's (stale) state
        assert by_header.json()["display_name"] == "after the write"
        assert by_header.headers["x-db-server"] == str(primary.server_id)
    finally:
        replica.query("STOP SLAVE")
        replica.query("CHANGE MASTER TO MASTER_DELAY = 0")
        replica.query("START SLAVE")
    caught_up(primary, replica)
    wait_until(lambda: readyz_replica(api)["ok"], 10, "breaker closed")
    # Once the replica has applied the write, the writer's reads return to the replica.
    again = writer.get(f"/api/v1/users/{user_id}")
    assert again.json()["display_name"] == "after the write"
    assert again.headers["x-db-server"] == str(replica.server_id)


def test_breaker_opens_when_replication_stops_and_closes_when_it_resumes(
    stack: dict[str, Any],
) -> None:
    primary, replica, api = stack["primary"], stack["replica"], stack["api"]
    _, user_id = sign_up(api, "breaker")
    caught_up(primary, replica)
    started = time.perf_counter()
    replica.query("STOP SLAVE SQL_THREAD")
    try:
        wait_until(lambda: not readyz_replica(api)["ok"], 10, "breaker open")
        FIGURES["breaker_open_seconds"] = round(time.perf_counter() - started, 3)
        assert "SQL thread" in readyz_replica(api)["error"]
        with api.client() as anonymous:
            read = anonymous.get(f"/api/v1/users/{user_id}")
        assert read.status_code == 200
        assert read.headers["x-db-server"] == str(primary.server_id)
    finally:
        replica.query("START SLAVE SQL_THREAD")
    started = time.perf_counter()
    wait_until(lambda: readyz_replica(api)["ok"], 10, "breaker closed")
    FIGURES["breaker_close_seconds"] = round(time.perf_counter() - started, 3)
    with api.client() as anonymous:
        assert anonymous.get(f"/api/v1/users/{user_id}").headers["x-db-server"] == str(
            replica.server_id
        )


def test_measure_replication_lag_and_read_your_writes_cost(stack: dict[str, Any]) -> None:
    primary, replica, api = stack["primary"], stack["replica"], stack["api"]
    # 1. Visibility lag: a committed row, polled on the replica until it shows.
    primary.query(
        "CREATE TABLE IF NOT EXISTS lag_probe (id BIGINT PRIMARY KEY AUTO_INCREMENT, v INT)",
        database=APP_DB,
    )
    pconn, rconn = primary.connect(database=APP_DB), replica.connect(database=APP_DB)
    lags = []
    with pconn.cursor() as pc, rconn.cursor() as rc:
        for i in range(200):
            pc.execute("INSERT INTO lag_probe (v) VALUES (%s)", (i,))
            row_id, t0 = pc.lastrowid, time.perf_counter()
            while True:
                rc.execute("SELECT 1 FROM lag_probe WHERE id = %s", (row_id,))
                if rc.fetchone():
                    break
            lags.append((time.perf_counter() - t0) * 1000)
    pconn.close()
    rconn.close()
    FIGURES["replication_lag_ms"] = _summary(lags)

    # 2. A read right after a write, with the read-your-writes cookie (GTID wait on the
    # replica) against the same read without it.
    writer, user_id = sign_up(api, "cost")
    with_cookie, waits, anonymous_times, servers = [], [], [], set()
    with api.client() as anonymous:
        for i in range(40):
            assert writer.patch("/api/v1/me", json={"bio": f"v{i}"}).status_code == 200
            t0 = time.perf_counter()
            own = writer.get(f"/api/v1/users/{user_id}")
            with_cookie.append((time.perf_counter() - t0) * 1000)
            assert own.json()["bio"] == f"v{i}"
            waits.append(float(own.headers["x-db-wait-ms"]))
            servers.add(own.headers["x-db-server"])
            t0 = time.perf_counter()
            anonymous.get(f"/api/v1/users/{user_id}")
            anonymous_times.append((time.perf_counter() - t0) * 1000)
    FIGURES["gtid_wait_ms"] = _summary(waits)
    FIGURES["read_after_write_http_ms"] = _summary(with_cookie)
    FIGURES["anonymous_read_http_ms"] = _summary(anonymous_times)
    FIGURES["read_after_write_servers"] = sorted(servers)


def test_sticky_mode_sends_the_writer_to_the_primary_for_the_window(
    stack: dict[str, Any],
) -> None:
    primary, replica = stack["primary"], stack["replica"]
    api = start_api(
        stack["tmp"],
        primary,
        replica,
        "api-sticky",
        DB_READ_YOUR_WRITES="sticky",
        DB_STICKY_SECONDS="4",
    )
    try:
        writer, user_id = sign_up(api, "sticky")
        caught_up(primary, replica)
        times = []
        for i in range(20):
            assert writer.patch("/api/v1/me", json={"bio": f"s{i}"}).status_code == 200
            t0 = time.perf_counter()
            own = writer.get(f"/api/v1/users/{user_id}")
            times.append((time.perf_counter() - t0) * 1000)
            assert own.json()["bio"] == f"s{i}"
            assert own.headers["x-db-server"] == str(primary.server_id)
        FIGURES["sticky_read_after_write_http_ms"] = _summary(times)
        # A window of seconds, not a fraction: a loaded CI machine can take over a second
        # between a write's response and the next request.
        time.sleep(4.2)
        after = writer.get(f"/api/v1/users/{user_id}")
        assert after.headers["x-db-server"] == str(replica.server_id)
    finally:
        api.proc.stop()


def test_breaker_opens_when_the_replica_lags_beyond_the_threshold(stack: dict[str, Any]) -> None:
    primary, replica = stack["primary"], stack["replica"]
    api = start_api(stack["tmp"], primary, replica, "api-lag", DB_REPLICA_MAX_LAG_SECONDS="1")
    try:
        writer, user_id = sign_up(api, "lag")
        caught_up(primary, replica)
        replica.query("STOP SLAVE")
        replica.query("CHANGE MASTER TO MASTER_DELAY = 3600")
        replica.query("START SLAVE")
        wait_until(lambda: readyz_replica(api)["ok"], 10, "breaker closed after the restart")
        assert writer.patch("/api/v1/me", json={"bio": "lagging"}).status_code == 200
        started = time.perf_counter()
        # Seconds_Behind_Master grows from the write's timestamp; beyond 1 s the breaker opens.
        wait_until(lambda: not readyz_replica(api)["ok"], 15, "breaker open on lag")
        FIGURES["breaker_open_on_lag_seconds"] = round(time.perf_counter() - started, 3)
        assert "lag" in readyz_replica(api)["error"]
        with api.client() as anonymous:
            read = anonymous.get(f"/api/v1/users/{user_id}")
        assert read.json()["bio"] == "lagging"  # served by the primary, not the lagging replica
        assert read.headers["x-db-server"] == str(primary.server_id)
    finally:
        replica.query("STOP SLAVE")
        replica.query("CHANGE MASTER TO MASTER_DELAY = 0")
        replica.query("START SLAVE")
    try:
        caught_up(primary, replica)
        wait_until(lambda: readyz_replica(api)["ok"], 10, "breaker closed once caught up")
    finally:
        api.proc.stop()


def test_killing_the_replica_under_a_stream_of_reads_fails_no_request(
    stack: dict[str, Any],
) -> None:
    primary, replica, api = stack["primary"], stack["replica"], stack["api"]
    _, user_id = sign_up(api, "kill")
    caught_up(primary, replica)
    outcomes: dict[str, int] = {}
    served: dict[str, int] = {}

    async def reader(client: httpx.AsyncClient, stop_at: float) -> None:
        while time.perf_counter() < stop_at:
            try:
                response = await client.get(f"/api/v1/users/{user_id}")
                key = str(response.status_code)
                server = response.headers.get("x-db-server", "?")
                served[server] = served.get(server, 0) + 1
            except httpx.HTTPError as exc:
                key = type(exc).__name__
            outcomes[key] = outcomes.get(key, 0) + 1

    async def run() -> None:
        limits = httpx.Limits(max_connections=8)
        async with httpx.AsyncClient(base_url=api.base, timeout=10, limits=limits) as client:
            stop_at = time.perf_counter() + 3.0
            tasks = [asyncio.create_task(reader(client, stop_at)) for _ in range(6)]
            await asyncio.sleep(1.0)
            replica.kill9()
            await asyncio.gather(*tasks)

    asyncio.run(run())
    FIGURES["kill9_outcomes"] = outcomes
    FIGURES["kill9_served_by"] = served
    assert set(outcomes) == {"200"}, outcomes
    assert served.get(str(replica.server_id), 0) > 0
    assert served.get(str(primary.server_id), 0) > 0
    assert not readyz_replica(api)["ok"]

    # The replica comes back, resumes replication by itself, and takes reads again.
    replica.start()
    started = time.perf_counter()
    wait_until(lambda: readyz_replica(api)["ok"], 30, "breaker closed after restart")
    FIGURES["breaker_close_after_restart_seconds"] = round(time.perf_counter() - started, 3)


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 3),
        "p95": round(ordered[int(len(ordered) * 0.95) - 1], 3),
        "max": round(ordered[-1], 3),
        "n": len(ordered),
    }
