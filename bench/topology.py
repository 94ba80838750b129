"""The benchmark's topology on loopback, started the way the system tests start it.

nginx (the project's templates, plain-HTTP site) → two ``python -m sharestack serve`` processes →
MariaDB primary + GTID replica (tests.support.mariadb), Redis durable master + replica + three
Sentinels and a separate cache instance (tests.support.redis_servers), and the job worker. Every
server gets a free port and its own directory under the run directory; every PID started here is
stopped here, and nothing else is.

The one deliberate difference from production is nginx's per-IP limits: every bench request comes
from 127.0.0.1, so the 50 r/s, 10 r/min and 100-connection per-IP shields would turn the load into
429s. They are raised in the rendered copy (see :func:`_lift_per_ip_limits`); everything else in
the configuration is the committed one.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from tests.support.mariadb import MariaDBFactory, MariaDBServer
from tests.support.nginx import EdgeLayout, prepare, start_nginx, stop_nginx
from tests.support.processes import ManagedProcess, api_argv, free_port, sharestack_argv, wait_until
from tests.support.redis_servers import RedisNode, SentinelCluster, sentinel_cluster, start_cache

# A bench server holds the seed in memory, as a production server would (the test default is 32M).
DB_EXTRA = ["innodb_buffer_pool_size = 512M", "max_connections = 300"]
# The account the API and the worker use: the database-side figures count its statements only.
APP_DB_USER = "sharestack"


@dataclass
class ApiProcess:
    name: str
    port: int
    proc: ManagedProcess

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Topology:
    run_dir: Path
    primary: MariaDBServer
    replica: MariaDBServer
    redis: SentinelCluster
    cache: RedisNode
    env: dict[str, str]
    apis: list[ApiProcess] = field(default_factory=list)
    worker: ManagedProcess | None = None
    edge: EdgeLayout | None = None
    nginx: ManagedProcess | None = None

    @property
    def base_url(self) -> str:
        assert self.edge is not None
        return f"http://127.0.0.1:{self.edge.http_port}"

    @property
    def access_log(self) -> Path:
        assert self.edge is not None
        return self.edge.access_log

    # -- the database's own account of statement times -------------------------------------
    def log_every_statement(self) -> None:
        """Lower long_query_time to 0 on both servers, so that their slow logs (already on in
        deploy/mysql/mariadb/*.cnf, ``slow.log`` in the data directory) record every statement
        with the server's own Query_time. Set at run time, after the seed, so the log does not
        carry the seed's multi-megabyte INSERTs; sessions opened from now on (the APIs', the
        worker's) take the new value. A restarted server (drills) is back at the file's 0.5 s."""
        for server in (self.primary, self.replica):
            server.query("SET GLOBAL long_query_time = 0")

    def statement_logs(self) -> dict[str, Path]:
        return {
            "primary": self.primary.datadir / "slow.log",
            "replica": self.replica.datadir / "slow.log",
        }

    # -- API processes ---------------------------------------------------------------------
    def start_api(self, index: int, port: int | None = None) -> ApiProcess:
        port = port or free_port()
        name = f"api-{index + 1}"
        proc = ManagedProcess(
            name,
            api_argv(port),
            self.run_dir / name / "api.log",
            env=self.env,
            cwd=self.run_dir,  # never a developer's backend/.env
        ).start()
        api = ApiProcess(name, port, proc)
        wait_until(lambda: _ready(api.base_url), 60, f"{name} /readyz", proc)
        return api

    def restart_api(self, api: ApiProcess) -> float:
        """Start a stopped/killed API again on its old port; returns seconds until ready."""
        t0 = time.monotonic()
        fresh = self.start_api(int(api.name.split("-")[1]) - 1, api.port)
        api.proc = fresh.proc
        return time.monotonic() - t0

    def start_worker(self) -> None:
        self.worker = ManagedProcess(
            "worker",
            sharestack_argv("worker"),
            self.run_dir / "worker" / "worker.log",
            env=self.env,
            cwd=self.run_dir,
        ).start()

    def warm_cache(self) -> str:
        """``sharestack warm-cache``: every published item cached by slug, as after a deploy."""
        return self._command("warm-cache", timeout=600).strip().splitlines()[-1]

    def migrate(self) -> None:
        self._command("migrate", timeout=300)

    def _command(self, command: str, timeout: float) -> str:
        """Run ``python -m sharestack <command>`` with the APIs' environment; its output."""
        result = subprocess.run(  # noqa: S603 - our own interpreter and module
            sharestack_argv(command),
            env=self.env,
            cwd=self.run_dir,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{command} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start_edge(self) -> None:
        servers = [f"127.0.0.1:{api.port}" for api in self.apis]
        self.edge = prepare(self.run_dir / "nginx", servers, site_mode="plain")
        _lift_per_ip_limits(self.edge.conf_dir)
        self.nginx = start_nginx(self.edge)
        wait_until(lambda: _ready(self.base_url), 30, "nginx → API /readyz", self.nginx)

    def stop(self) -> None:
        if self.nginx is not None:
            stop_nginx(self.nginx)
        if self.worker is not None:
            self.worker.stop()
        for api in self.apis:
            api.proc.stop()


def edge_settled(topo: Topology, in_a_row: int = 6, timeout: float = 60) -> float:
    """Wait until /readyz through nginx answers 200 ``in_a_row`` times running (round robin:
    every instance), so one scenario's failures (nginx takes an instance out for fail_timeout
    after max_fails) do not spill into the next. Returns the seconds waited."""
    streak = 0

    def settled() -> bool:
        nonlocal streak
        streak = streak + 1 if _ready(topo.base_url) else 0
        return streak >= in_a_row

    return wait_until(settled, timeout, "nginx to reach healthy API instances")


def _ready(base_url: str) -> bool:
    return httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200


def _lift_per_ip_limits(conf_dir: Path) -> None:
    limits = conf_dir / "sharestack" / "limits.conf"
    limits.write_text(re.sub(r"rate=\d+r/[sm]", "rate=1000000r/s", limits.read_text()))
    app = conf_dir / "sharestack" / "app.conf"
    text = re.sub(
        r"limit_conn sharestack_conn \d+;", "limit_conn sharestack_conn 60000;", app.read_text()
    )
    # nginx counts requests arriving within the same millisecond against the burst, whatever
    # the rate: a fast stream of tiny answers (a 503 storm) would otherwise trip it.
    app.write_text(re.sub(r"burst=\d+", "burst=100000", text))


def production_maxmemory() -> str:
    """``maxmemory`` of deploy/redis/cache.conf."""
    conf = Path(__file__).resolve().parent.parent / "deploy" / "redis" / "cache.conf"
    match = re.search(r"^maxmemory\s+(\S+)", conf.read_text(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"{conf} sets no maxmemory")
    return match.group(1)


def api_env(
    primary: MariaDBServer, replica: MariaDBServer, redis: SentinelCluster, cache: RedisNode
) -> dict[str, str]:
    """The API's and the worker's environment: production mode, every server of this run."""
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "REDIS_", "DB_", "RATE_LIMIT", "CACHE_", "BENCH_"))
    }
    master = redis.current_master()
    return {
        **inherited,
        "ENVIRONMENT": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "LOG_LEVEL": "INFO",
        "DATABASE_URL": primary.url(),
        "DATABASE_REPLICA_URLS": replica.url(),
        "REDIS_URL": f"redis://:{redis.password}@127.0.0.1:{master.port}",
        "REDIS_SENTINELS": redis.sentinels_setting,
        "REDIS_SENTINEL_MASTER": redis.master_name,
        "REDIS_SENTINEL_PASSWORD": redis.sentinel_password,
        "REDIS_CACHE_URL": cache.url(0),
        # The API's own limits stay on (their Redis round trip is part of every request) but far
        # above what one load generator on one IP sends.
        "RATE_LIMIT_ANONYMOUS": "1000000/second",
        "RATE_LIMIT_AUTHENTICATED": "1000000/second",
        "RATE_LIMIT_AUTH": "1000000/second",
        "BENCH_ENDPOINTS": "true",
        # As docker-compose.yml runs each API process: one password hash at a time per process
        # (two processes on two cores), so that hashes do not time-slice each other past the
        # bulkhead's wait limit.
        "PASSWORD_HASH_CONCURRENCY": "1",
    }


@contextlib.contextmanager
def topology(run_dir: Path, seed_fn: object = None, apis: int = 2) -> Iterator[Topology]:
    """Start everything; ``seed_fn(topology)`` runs after migrations, before the APIs start."""
    run_dir.mkdir(parents=True, exist_ok=True)
    factory = MariaDBFactory(run_dir / "mariadb")
    with contextlib.ExitStack() as stack:
        stack.callback(factory.stop_all)
        t0 = time.monotonic()
        primary = factory.create("db-primary", "primary", extra=DB_EXTRA)
        replica = factory.create("db-replica", "replica", extra=DB_EXTRA)
        replica.replicate_from(primary)
        redis = stack.enter_context(sentinel_cluster(run_dir / "redis"))
        # The production cache's memory (the tests' servers run with less): the hit rate depends
        # on how much of the long tail fits.
        cache = start_cache(run_dir / "redis", extra_args=["--maxmemory", production_maxmemory()])
        stack.callback(cache.stop)
        topo = Topology(
            run_dir, primary, replica, redis, cache, api_env(primary, replica, redis, cache)
        )
        stack.callback(topo.stop)
        topo.migrate()
        print(f"servers up and migrated in {time.monotonic() - t0:.1f} s", flush=True)
        if callable(seed_fn):
            seed_fn(topo)
        topo.log_every_statement()
        for i in range(apis):
            topo.apis.append(topo.start_api(i))
        topo.start_worker()
        topo.start_edge()
        print(f"topology ready in {time.monotonic() - t0:.1f} s: {topo.base_url}", flush=True)
        yield topo
