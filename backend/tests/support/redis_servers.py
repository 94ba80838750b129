"""Throwaway Redis and Sentinel processes for system tests.

Every node is started through ``deploy/redis/start.sh`` from the committed config files
(``redis.conf``, ``replica.conf``, ``cache.conf``, ``sentinel.conf``), so the tests exercise what
production runs. Only what must differ on a shared loopback machine is overridden on the command
line (port, bind address, data directory, log file) or, for Sentinel, in a fresh per-run copy
(monitored address and the shorter failure-detection timings of the drill). Passwords are
generated per run. Redis and Sentinel rewrite their running config, so every run gets its own
directory and nothing committed is ever touched.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import redis

from tests.support.processes import (
    ManagedProcess,
    api_argv,
    free_port,
    require_binary,
    sharestack_argv,
    wait_until,
)

if TYPE_CHECKING:
    from fastapi import FastAPI

    from sharestack.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[3]
REDIS_DEPLOY = REPO_ROOT / "deploy" / "redis"
START_SCRIPT = REDIS_DEPLOY / "start.sh"
MASTER_NAME = "sharestack"


def _password() -> str:
    return "test-" + secrets.token_urlsafe(12)


@dataclass
class RedisNode:
    """One redis-server started by a test. ``restart()`` reuses the same data directory, which is
    what the persistence test needs."""

    name: str
    port: int
    password: str
    run_dir: Path
    confs: Sequence[str]
    extra_args: Sequence[str] = ()
    env_extra: dict[str, str] = field(default_factory=dict)
    proc: ManagedProcess | None = None

    @property
    def data_dir(self) -> Path:
        return self.run_dir / "data"

    def url(self, db: int = 0) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1", port=self.port, password=self.password, db=db, socket_timeout=2
        )

    def start(self, extra_args: Sequence[str] = ()) -> RedisNode:
        require_binary("redis-server")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "REDIS_PASSWORD": self.password,
            "REDIS_RUNTIME_DIR": str(self.run_dir),
            **self.env_extra,
        }
        argv = [
            "bash",
            str(START_SCRIPT),
            "server",
            *(str(REDIS_DEPLOY / c) for c in self.confs),
            "--",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.data_dir),
            "--logfile",
            str(self.run_dir / "redis.log"),
            "--maxmemory",
            "64mb",
            *self.extra_args,
            *extra_args,
        ]
        self.proc = ManagedProcess(self.name, argv, self.run_dir / "stdout.log", env=env).start()
        wait_until(self.ping, 15, f"{self.name} to answer PING", self.proc)
        return self

    def ping(self) -> bool:
        with self.client() as c:
            return bool(c.ping())

    def loading_done(self) -> bool:
        with self.client() as c:
            return int(c.info("persistence")["loading"]) == 0

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill9()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    def log_tail(self, lines: int = 40) -> str:
        path = self.run_dir / "redis.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def start_durable(run_dir: Path, name: str = "redis-durable") -> RedisNode:
    """A durable node as in production: redis.conf (noeviction, AOF everysec + RDB)."""
    node = RedisNode(name, free_port(), _password(), run_dir / name, ["redis.conf"])
    return node.start()


def start_cache(
    run_dir: Path, name: str = "redis-cache", extra_args: Sequence[str] = ()
) -> RedisNode:
    node = RedisNode(name, free_port(), _password(), run_dir / name, ["cache.conf"])
    return node.start(extra_args)


@contextlib.contextmanager
def durable_redis(run_dir: Path) -> Iterator[RedisNode]:
    node = start_durable(run_dir)
    try:
        yield node
    finally:
        node.stop()


@dataclass
class SentinelNode:
    name: str
    port: int
    run_dir: Path
    proc: ManagedProcess

    def client(self, password: str) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, password=password, socket_timeout=2)


@dataclass
class SentinelCluster:
    """A master, one replica and three Sentinels on loopback, as in RECIPES §4."""

    run_dir: Path
    password: str
    sentinel_password: str
    nodes: dict[str, RedisNode]
    sentinels: list[SentinelNode]
    master_name: str = MASTER_NAME

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", s.port) for s in self.sentinels]

    @property
    def sentinels_setting(self) -> str:
        """The value of REDIS_SENTINELS for this cluster."""
        return ",".join(f"{h}:{p}" for h, p in self.sentinel_addresses)

    def master_port(self, sentinel_index: int = 0) -> int:
        with self.sentinels[sentinel_index].client(self.sentinel_password) as c:
            _host, port = c.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.master_name)
        return int(port)

    def node_on_port(self, port: int) -> RedisNode:
        return next(n for n in self.nodes.values() if n.port == port)

    def current_master(self) -> RedisNode:
        return self.node_on_port(self.master_port())

    def _sentinel_view(self, s: SentinelNode) -> dict[str, str]:
        with s.client(self.sentinel_password) as c:
            flat = c.execute_command("SENTINEL", "MASTER", self.master_name)
        if isinstance(flat, dict):
            return {_s(k): _s(v) for k, v in flat.items()}
        return {_s(flat[i]): _s(flat[i + 1]) for i in range(0, len(flat), 2)}

    def wait_meshed(self, timeout: float = 30) -> float:
        """Every sentinel sees the two others and one replica (RECIPES §4 pitfall 6)."""

        def meshed() -> bool:
            for s in self.sentinels:
                view = self._sentinel_view(s)
                if view.get("num-other-sentinels") != "2" or view.get("num-slaves") != "1":
                    return False
            return True

        return wait_until(meshed, timeout, "the sentinels to see each other and the replica")

    def wait_fresh_replica_info(self, timeout: float = 30) -> None:
        """Wait until every sentinel has an INFO from the replica younger than 1 s, so the failover
        cannot be refused with -failover-abort-no-good-slave (RECIPES §4 pitfall 5)."""

        def fresh() -> bool:
            for s in self.sentinels:
                with s.client(self.sentinel_password) as c:
                    replicas = c.execute_command("SENTINEL", "REPLICAS", self.master_name)
                if not replicas:
                    return False
                for r in replicas:
                    info = (
                        {_s(k): _s(v) for k, v in r.items()}
                        if isinstance(r, dict)
                        else {_s(r[i]): _s(r[i + 1]) for i in range(0, len(r), 2)}
                    )
                    if int(info.get("info-refresh", "99999")) >= 1000:
                        return False
            return True

        wait_until(fresh, timeout, "a fresh replica INFO on every sentinel")

    def wait_replica_link(self, node: RedisNode, timeout: float = 30) -> float:
        def up() -> bool:
            with node.client() as c:
                return c.info("replication").get("master_link_status") == "up"

        return wait_until(up, timeout, f"{node.name} replication link", node.proc)

    def stop(self) -> None:
        for s in reversed(self.sentinels):
            s.proc.stop()
        for n in self.nodes.values():
            n.stop()


def _s(v: object) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _sentinel_conf_for_run(master_port: int, down_after_ms: int, failover_timeout_ms: int) -> str:
    """The committed sentinel.conf with the loopback master address and the drill's timings."""
    text = (REDIS_DEPLOY / "sentinel.conf").read_text()
    text, n = re.subn(
        r"^sentinel monitor (\S+) \S+ \d+ (\d+)$",
        rf"sentinel monitor \1 127.0.0.1 {master_port} \2",
        text,
        flags=re.M,
    )
    assert n == 1, "sentinel.conf must have exactly one 'sentinel monitor' line"
    text = re.sub(
        r"^(sentinel down-after-milliseconds \S+) \d+$", rf"\1 {down_after_ms}", text, flags=re.M
    )
    text = re.sub(
        r"^(sentinel failover-timeout \S+) \d+$", rf"\1 {failover_timeout_ms}", text, flags=re.M
    )
    return text


@contextlib.contextmanager
def sentinel_cluster(
    run_dir: Path, down_after_ms: int = 1000, failover_timeout_ms: int = 3000
) -> Iterator[SentinelCluster]:
    require_binary("redis-server")
    require_binary("redis-sentinel")
    password, sentinel_password = _password(), _password()
    nodes: dict[str, RedisNode] = {}
    sentinels: list[SentinelNode] = []
    cluster = SentinelCluster(run_dir, password, sentinel_password, nodes, sentinels)
    try:
        master = RedisNode("redis-a", free_port(), password, run_dir / "redis-a", ["redis.conf"])
        nodes["a"] = master.start()
        replica = RedisNode(
            "redis-b",
            free_port(),
            password,
            run_dir / "redis-b",
            ["redis.conf", "replica.conf"],
            extra_args=["--replicaof", "127.0.0.1", str(master.port)],
        )
        nodes["b"] = replica.start()
        cluster.wait_replica_link(replica)
        conf_text = _sentinel_conf_for_run(master.port, down_after_ms, failover_timeout_ms)
        for i in range(3):
            sdir = run_dir / f"sentinel-{i + 1}"
            sdir.mkdir(parents=True)
            seed = sdir / "sentinel.seed.conf"
            seed.write_text(conf_text)
            port = free_port()
            env = {
                **os.environ,
                "REDIS_PASSWORD": password,
                "SENTINEL_PASSWORD": sentinel_password,
                "REDIS_RUNTIME_DIR": str(sdir),
            }
            argv = [
                "bash",
                str(START_SCRIPT),
                "sentinel",
                str(seed),
                "--",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(sdir),
                "--logfile",
                str(sdir / "sentinel.log"),
            ]
            proc = ManagedProcess(f"sentinel-{i + 1}", argv, sdir / "stdout.log", env=env).start()
            node = SentinelNode(f"sentinel-{i + 1}", port, sdir, proc)
            sentinels.append(node)
            wait_until(lambda n=node: bool(n.client(sentinel_password).ping()), 15, node.name, proc)
        cluster.wait_meshed()
        yield cluster
    finally:
        cluster.stop()


def restart_as_replica(cluster: SentinelCluster, node: RedisNode) -> float:
    """Restart a killed old master the way start.sh does in production: it asks Sentinel for the
    current master and comes back as its replica (never as a second, stale master). Returns the
    seconds until its replication link is up."""
    node.env_extra = {
        "REDIS_SENTINELS": cluster.sentinels_setting,
        "SENTINEL_PASSWORD": cluster.sentinel_password,
        "SENTINEL_MASTER_NAME": cluster.master_name,
        "REDIS_SELF_ADDR": f"127.0.0.1:{node.port}",
    }
    # Drop the --replicaof of the initial topology: the running master is Sentinel's to name.
    args = list(node.extra_args)
    if "--replicaof" in args:
        i = args.index("--replicaof")
        del args[i : i + 3]
    node.extra_args = args
    t0 = time.monotonic()
    node.start()
    cluster.wait_replica_link(node)
    return time.monotonic() - t0


# -- the application's own processes against these servers ---------------------------------------

BACKEND_DIR = REPO_ROOT / "backend"


@dataclass
class AppEnv:
    """Environment for API and worker processes of one test: a scratch MariaDB database (migrated)
    and the Redis settings the test chooses."""

    database: str
    database_url: str
    secret_key: str
    key_prefix: str
    redis: dict[str, str]

    def env(self, **extra: str) -> dict[str, str]:
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DATABASE_", "REDIS_", "ENVIRONMENT", "SECRET_KEY", "RATE_LIMIT"))
        }
        return base | {
            "ENVIRONMENT": "test",
            "SECRET_KEY": self.secret_key,
            "DATABASE_URL": self.database_url,
            "REDIS_KEY_PREFIX": self.key_prefix,
            "LOG_LEVEL": "WARNING",
            **self.redis,
            **extra,
        }

    def settings(self, **extra: object) -> Settings:
        from sharestack.config import Settings

        fields: dict[str, object] = {
            "environment": "test",
            "secret_key": self.secret_key,
            "database_url": self.database_url,
            "redis_key_prefix": self.key_prefix,
            "log_level": "WARNING",
        }
        fields |= {k.lower(): v for k, v in self.redis.items()}
        fields |= extra
        return Settings(_env_file=None, **fields)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def app_env(redis_settings: dict[str, str]) -> AsyncIterator[AppEnv]:
    """A migrated scratch database on the shared MariaDB, dropped afterwards."""
    from sharestack.db.migrate import migrate
    from tests.support import servers

    servers.require_mariadb()
    name = f"ss_redis_{secrets.token_hex(4)}"
    servers.create_database(name)
    env = AppEnv(
        database=name,
        database_url=servers.database_url(name),
        secret_key=secrets.token_urlsafe(48),
        key_prefix=f"ssredis:{secrets.token_hex(3)}:",
        redis=redis_settings,
    )
    try:
        await migrate(env.settings())
        yield env
    finally:
        servers.drop_database(name)


def start_api(
    run_dir: Path, env: AppEnv, name: str = "api", **extra_env: str
) -> tuple[str, ManagedProcess]:
    """``python -m sharestack serve`` on a free port (the database is migrated already)."""

    port = free_port()
    proc = ManagedProcess(
        name,
        api_argv(port, migrate=False),
        run_dir / f"{name}.log",
        env=env.env(**extra_env),
        cwd=BACKEND_DIR,
    ).start()
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        import httpx

        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200

    wait_until(healthy, 60, f"{name} /healthz", proc)
    return base, proc


def start_worker(run_dir: Path, env: AppEnv, name: str = "worker") -> ManagedProcess:
    """``python -m sharestack worker`` (what ``make worker`` runs)."""

    proc = ManagedProcess(
        name,
        sharestack_argv("worker"),
        run_dir / f"{name}.log",
        env=env.env(LOG_LEVEL=os.environ.get("TEST_WORKER_LOG_LEVEL", "INFO")),
        cwd=BACKEND_DIR,
    ).start()
    return proc


@dataclass
class WorkerStack:
    """A durable Redis, the app's environment on it, a running worker and an API app started
    in-process (``worker_stack``)."""

    node: RedisNode
    env: AppEnv
    app: FastAPI
    worker: ManagedProcess


@contextlib.asynccontextmanager
async def worker_stack(run_dir: Path, *, show_log: bool = False) -> AsyncIterator[WorkerStack]:
    """A real worker against its own durable Redis, ready once its scheduler has queued the
    first cron job, beside an in-process app on the same Redis and the test database."""
    from sharestack.jobs.queue import queue_name
    from sharestack.main import create_app

    with durable_redis(run_dir) as node:
        async with app_env({"REDIS_URL": f"redis://:{node.password}@127.0.0.1:{node.port}"}) as env:
            worker = start_worker(run_dir, env)
            queue_db = node.client(db=2)
            cron_key = f"{queue_name(env.key_prefix)}:job:cron:record_redis_stats"
            wait_until(lambda: bool(queue_db.exists(cron_key)), 60, "the worker", worker)
            queue_db.close()
            app = create_app(env.settings())
            try:
                async with app.router.lifespan_context(app):
                    yield WorkerStack(node, env, app, worker)
            finally:
                worker.stop()
                assert worker.wait(5) is not None
                if show_log:
                    print(f"\nworker log tail:\n{worker.tail(40)}")
