"""The scenarios, and measuring one scenario at one connection count.

Each point: prepare the scenario's inputs (paths, sessions), warm up (not measured), snapshot
every server-side counter, run wrk for the fixed duration, snapshot again, and keep the
differences. Content ``rank`` r (1 = most popular) is content id ``((r - 1) * 7919) % N + 1``,
the same mapping mixed.lua uses, so "cold" keys are taken from the least popular ranks.
"""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.load import WrkResult, run_wrk
from bench.observe import (
    LogWindow,
    MetricsSnapshot,
    access_figures,
    attributable_commands,
    calls_delta,
    db_server_figures,
    process_tree_cpu,
    redis_command_calls,
    server_figures,
)
from bench.seed import BENCH_PASSWORD, SeedSize, content_slug
from bench.topology import APP_DB_USER, Topology, edge_settled

STRIDE = 7919
HOT_KEYS = 100


def rank_to_id(rank: int, n: int) -> int:
    return ((rank - 1) * STRIDE) % n + 1


@dataclass
class Context:
    topo: Topology
    size: SeedSize
    work: Path
    duration_s: float
    warmup_s: float
    cold_next_rank: int = 0  # counts down from the least popular item
    files: dict[str, Path] = field(default_factory=dict)
    # The cache warm-up before the mixed workload: rounds at this many connections, each this
    # long, until the hit rate stops rising or the time limit (see warm_cache).
    warm_connections: int = 100
    warm_round_s: float = 5.0
    warm_max_s: float = 90.0
    cache_warmup: dict[str, Any] | None = None
    # Redis calls per command and second with no load (see redis_idle), measured once per run.
    redis_idle_per_s: dict[str, float] | None = None
    idle_statements_per_s: float = 0.0

    def write(self, name: str, lines: list[str]) -> Path:
        path = self.work / name
        path.write_text("\n".join(lines) + "\n")
        return path


# -- inputs ----------------------------------------------------------------------------------------


async def _sessions(topo: Topology, user_ids: list[int]) -> list[str]:
    """Session tokens made by the application's own LoginStore (a login per user through HTTP
    would cost an argon2 verification each)."""
    from sharestack.cache.redis import RedisRoles
    from sharestack.callers.store import LoginStore
    from sharestack.config import Settings

    fields = Settings.model_fields
    settings = Settings(
        **{k.lower(): v for k, v in topo.env.items() if k.lower() in fields}  # type: ignore[arg-type]
    )
    roles = RedisRoles.from_settings(settings)
    try:
        store = LoginStore(roles, settings)
        return [await store.create(uid) for uid in user_ids]
    finally:
        await roles.close()


def prepare_inputs(ctx: Context) -> None:
    s = ctx.size
    hot = [
        f"/api/v1/contents/slug/{content_slug(rank_to_id(r, s.contents))}"
        for r in range(1, HOT_KEYS + 1)
    ]
    ctx.files["hot"] = ctx.write("hot.paths", hot)
    creators = list(range(1, min(s.creators, 20) + 1))
    readers = list(range(s.creators + 1, min(s.users, s.creators + 200) + 1))
    tokens = asyncio.run(_sessions(ctx.topo, creators + readers))
    ctx.files["authors"] = ctx.write(
        "authors.tokens", [f"{uid} {tok}" for uid, tok in zip(creators, tokens, strict=False)]
    )
    ctx.files["readers"] = ctx.write("readers.tokens", tokens[len(creators) :])
    ctx.files["feeds"] = ctx.write("feeds.paths", _feed_paths(ctx))
    own_paths, own_tokens = _own_items(ctx, tokens[: len(creators)])
    ctx.files["own"] = ctx.write("own.paths", own_paths)
    ctx.files["own_tokens"] = ctx.write("own.tokens", own_tokens)
    size = len(httpx.get(ctx.topo.base_url + hot[0], timeout=10).content)
    ctx.files["baseline"] = ctx.write("baseline.paths", [f"/api/v1/bench/baseline/{size}"])
    ctx.cold_next_rank = s.contents
    (ctx.work / "acks").mkdir(exist_ok=True)


def _feed_paths(ctx: Context) -> list[str]:
    """First three pages of some creators' and tags' feeds (cursors from the API itself)."""
    from sharestack.content.rules import tag_slug

    from bench.textgen import tag_names

    starts = [f"/api/v1/creators/{c}/contents" for c in range(1, min(ctx.size.creators, 50) + 1)]
    starts += [
        f"/api/v1/tags/{urllib.parse.quote(tag_slug(n))}/contents"
        for n in tag_names(min(ctx.size.tags, 30))
    ]
    paths = []
    with httpx.Client(base_url=ctx.topo.base_url, timeout=10) as client:
        for start in starts:
            cursor = None
            for _ in range(3):
                path = start + (f"?cursor={urllib.parse.quote(cursor)}" if cursor else "")
                paths.append(path)
                cursor = client.get(path).json().get("next_cursor")
                if not cursor:
                    break
    return paths


def _own_items(ctx: Context, author_tokens: list[str]) -> tuple[list[str], list[str]]:
    """Pages 1 and 2 of each creator's own-items list, each with that creator's token: the two
    files have the same length, so paths.lua sends line i with token i."""
    paths, tokens = [], []
    with httpx.Client(base_url=ctx.topo.base_url, timeout=10) as client:
        for token in author_tokens:
            path = "/api/v1/me/contents"
            for _ in range(2):
                paths.append(path)
                tokens.append(token)
                answer = client.get(path, headers={"Authorization": f"Bearer {token}"})
                answer.raise_for_status()
                cursor = answer.json().get("next_cursor")
                if not cursor:
                    break
                path = f"/api/v1/me/contents?cursor={urllib.parse.quote(cursor)}"
    return paths, tokens


def _cold_paths(ctx: Context, count: int) -> Path:
    """The next ``count`` least popular items never read so far; when the data set runs out,
    the list restarts from the least popular (those reads are hits, and the figures show it)."""
    lines = []
    for _ in range(count):
        if ctx.cold_next_rank <= HOT_KEYS:
            ctx.cold_next_rank = ctx.size.contents
        lines.append(
            "/api/v1/contents/slug/"
            + content_slug(rank_to_id(ctx.cold_next_rank, ctx.size.contents))
        )
        ctx.cold_next_rank -= 1
    return ctx.write("cold.paths", lines)


# -- scenarios -----------------------------------------------------------------------------------

Env = Callable[[Context, int, float], dict[str, str]]


@dataclass(frozen=True)
class Scenario:
    name: str
    script: str
    env: Env
    description: str
    # The mixed workload's hit rate depends on how warm the cache is: before its first point the
    # same workload runs in rounds until the hit rate stops rising (warm_cache).
    warm_to_steady: bool = False


def _paths(key: str, tokens: str | None = None) -> Env:
    def env(ctx: Context, conns: int, seconds: float) -> dict[str, str]:
        out = {"BENCH_PATHS": str(ctx.files[key])}
        if tokens:
            out["BENCH_TOKENS"] = str(ctx.files[tokens])
        return out

    return env


def _cold(ctx: Context, conns: int, seconds: float) -> dict[str, str]:
    # Enough distinct keys for the run at ~3,000 requests/s; a wrap would show as cache hits.
    return {"BENCH_PATHS": str(_cold_paths(ctx, int(2500 * seconds) + 100))}


def _writes(ctx: Context, conns: int, seconds: float) -> dict[str, str]:
    return {"BENCH_AUTHORS": str(ctx.files["authors"]), "BENCH_ACK_DIR": str(ctx.work / "acks")}


def _login(ctx: Context, conns: int, seconds: float) -> dict[str, str]:
    return {"BENCH_USERS": str(ctx.size.users), "BENCH_PASSWORD": BENCH_PASSWORD}


def mixed_env(ctx: Context, conns: int = 0, seconds: float = 0) -> dict[str, str]:
    return {
        "BENCH_CONTENTS": str(ctx.size.contents),
        "BENCH_WRITE_SHARE": "0.1",
        "BENCH_ZIPF_S": "1.0",
        "BENCH_TOKENS": str(ctx.files["readers"]),
        **_writes(ctx, conns, seconds),
    }


SCENARIOS = [
    Scenario("baseline", "paths", _paths("baseline"), "fixed JSON body from memory, same size"),
    Scenario("cached", "paths", _paths("hot"), f"content by slug, {HOT_KEYS} hot keys"),
    Scenario(
        "auth-read",
        "paths",
        _paths("hot", "readers"),
        f"content by slug, {HOT_KEYS} hot keys, with a reader's session",
    ),
    Scenario("cold", "paths", _cold, "content by slug, never-read keys (cache miss → 1 lookup)"),
    Scenario("feeds", "paths", _paths("feeds"), "creator and tag feeds, pages 1-3 (keyset)"),
    Scenario(
        "own-items",
        "paths",
        _paths("own", "own_tokens"),
        "a creator's own items (GET /me/contents), pages 1-2, with the creator's session",
    ),
    Scenario("writes", "writes", _writes, "create a draft, then publish it"),
    Scenario("login", "login", _login, "password login (argon2id)"),
    Scenario(
        "mixed",
        "mixed",
        mixed_env,
        "90 % Zipf reads by slug, 10 % writes, sessions on",
        warm_to_steady=True,
    ),
]

# -- the cache's steady state --------------------------------------------------------------------

STATEMENTS = "sharestack_db_statements_total"
STEADY_RISE = 0.5  # percentage points
STEADY_ROUNDS = 2


def steady(rates: Sequence[float], rise: float = STEADY_RISE, span: int = STEADY_ROUNDS) -> bool:
    """True once the best of the last ``span`` rounds is less than ``rise`` points above the best
    round before them. Against the best, not the last: one noisy round (Zipf's tail, a neighbour
    taking the CPU) must not end a warm-up that is still rising."""
    return len(rates) > span and max(rates[-span:]) - max(rates[:-span]) < rise


def warm_cache(ctx: Context, scenario: Scenario) -> dict[str, Any]:
    """Run ``scenario`` in rounds of ``warm_round_s`` at ``warm_connections`` and record each
    round's hit rate (all key families, from the APIs' /metrics deltas) until :func:`steady`
    or ``warm_max_s``."""
    topo, conns = ctx.topo, ctx.warm_connections
    api_urls = [a.base_url for a in topo.apis]
    rounds: list[dict[str, float]] = []
    # First what a deployment does after a deploy or a cache flush: every published item cached
    # by slug (the long tail of a Zipf load would otherwise take hours of traffic to fill).
    p0 = time.monotonic()
    output = topo.warm_cache()
    prefill: dict[str, Any] = {
        "command": "python -m sharestack warm-cache",
        "output": output,
        "seconds": round(time.monotonic() - p0, 1),
    }
    t0 = time.monotonic()
    while True:
        before = MetricsSnapshot.scrape(api_urls)
        env = scenario.env(ctx, conns, ctx.warm_round_s)
        run_wrk(topo.base_url, scenario.script, conns, ctx.warm_round_s, env)
        delta = MetricsSnapshot.scrape(api_urls).delta(before)
        hits = delta.total("sharestack_cache_hits_total")
        reads = hits + delta.total("sharestack_cache_misses_total")
        rate = round(100 * hits / reads, 2) if reads else 0.0
        rounds.append({"t_s": round(time.monotonic() - t0, 1), "hit_rate": rate, "reads": reads})
        rates = [r["hit_rate"] for r in rounds]
        if steady(rates):
            stopped = "steady"
            break
        if time.monotonic() - t0 >= ctx.warm_max_s:
            stopped = "time limit"
            break
    return {
        "value": {
            "rounds": rounds,
            "plateau": rates[-1],
            "stopped": stopped,
            "seconds": round(time.monotonic() - t0, 1),
            "connections": conns,
            "prefill": prefill,
        },
        "unit": "% per round",
        "note": f"rounds of {ctx.warm_round_s:g} s until the hit rate rises < {STEADY_RISE} "
        f"point over {STEADY_ROUNDS} rounds, at most {ctx.warm_max_s:g} s",
    }


def _redis_nodes(topo: Topology) -> list[Any]:
    # Masters only: a replica's count would add every replicated write a second time.
    return [topo.redis.current_master(), topo.cache]


def redis_idle(ctx: Context) -> dict[str, float]:
    """Calls per command and second on the Redis masters with no load, for as long as a
    measured window: Sentinel's pings and hellos, replication acks, the worker's polling. The
    APIs' own statements per second meanwhile (replica monitor, outbox relay, the /metrics
    scrape) go to ``ctx.idle_statements_per_s``."""
    nodes = _redis_nodes(ctx.topo)
    api_urls = [a.base_url for a in ctx.topo.apis]
    scraped = MetricsSnapshot.scrape(api_urls)
    before, t0 = redis_command_calls(nodes), time.monotonic()
    time.sleep(ctx.duration_s)
    after, seconds = redis_command_calls(nodes), time.monotonic() - t0
    statements = MetricsSnapshot.scrape(api_urls).delta(scraped).total(STATEMENTS)
    ctx.idle_statements_per_s = round(statements / seconds, 3)
    return {k: round(v / seconds, 3) for k, v in calls_delta(after, before).items()}


def measure(ctx: Context, scenario: Scenario, conns: int) -> dict[str, Any]:
    topo = ctx.topo
    if ctx.redis_idle_per_s is None:
        ctx.redis_idle_per_s = redis_idle(ctx)
    settle_s = edge_settled(topo)
    warmup_s = ctx.warmup_s
    figures: dict[str, Any] = {"scenario": scenario.name, "connections": conns}
    if scenario.warm_to_steady:
        if ctx.cache_warmup is None:
            ctx.cache_warmup = warm_cache(ctx, scenario)
        figures["cache_warmup"] = ctx.cache_warmup
    if warmup_s > 0:
        run_wrk(topo.base_url, scenario.script, conns, warmup_s, scenario.env(ctx, conns, warmup_s))
    figures["warmup"] = {"value": warmup_s, "unit": "s"}
    env = scenario.env(ctx, conns, ctx.duration_s)
    api_urls = [a.base_url for a in topo.apis]
    redis_nodes = _redis_nodes(topo)
    server_pids = _server_pids(topo)
    window = LogWindow.mark(topo.access_log)
    before = MetricsSnapshot.scrape(api_urls)
    # After the scrape (it queries the database) and closed before the next one.
    db_windows = {k: LogWindow.mark(path) for k, path in topo.statement_logs().items()}
    redis_before, redis_t0 = redis_command_calls(redis_nodes), time.monotonic()
    cpu_before = {k: process_tree_cpu(v) for k, v in server_pids.items()}
    t0 = time.monotonic()
    result = run_wrk(topo.base_url, scenario.script, conns, ctx.duration_s, env)
    wall = time.monotonic() - t0
    cpu_s = {k: process_tree_cpu(v) - cpu_before[k] for k, v in server_pids.items()}
    redis_window = calls_delta(redis_command_calls(redis_nodes), redis_before)
    redis_seconds = time.monotonic() - redis_t0
    for w in db_windows.values():
        w.close()
    delta = MetricsSnapshot.scrape(api_urls).delta(before)
    time.sleep(0.2)  # nginx writes its log line after the response is sent
    figures.update(result.figures())
    figures.update(access_figures(window.entries()))
    ok = sum(n for s, n in figures["status_counts"]["value"].items() if s.startswith("2"))
    figures["good_throughput"] = {
        "value": round(ok / result.duration_s, 1) if result.duration_s else 0.0,
        "unit": "requests/s",
        "note": "2xx answers only (nginx log), the throughput the targets compare",
    }
    figures.update(server_figures(delta, result.requests))
    statements = delta.total(STATEMENTS)
    background = ctx.idle_statements_per_s * redis_seconds
    figures["db_statements_per_request"] = {
        "value": round(max(0.0, statements - background) / max(result.requests, 1), 3),
        "unit": "statements/request",
        "note": "the APIs' statement counter over the window, less the idle statements per "
        f"second ({ctx.idle_statements_per_s:g}: replica monitor, outbox relay, scrapes) "
        "× the window",
    }
    figures["db_statements_per_request_raw"] = {
        "value": round(statements / max(result.requests, 1), 3),
        "unit": "statements/request",
        "note": "the same without subtracting the idle baseline",
    }
    figures.update(db_server_figures(db_windows, {APP_DB_USER}, result.requests))
    figures.update(_redis_figures(redis_window, ctx.redis_idle_per_s, redis_seconds, result))
    figures["server_cpu"] = {
        "value": {k: round(100 * v / wall, 1) for k, v in cpu_s.items()},
        "unit": "% of one core",
    }
    for group in ("api", "worker"):
        figures[f"{group}_cpu_per_request"] = {
            "value": round(1000 * cpu_s[group] / ok, 3) if ok and group in cpu_s else None,
            "unit": "CPU ms / 2xx answer",
            "note": f"{group} CPU seconds over the window ÷ 2xx answers (kernel accounting)",
        }
    figures["edge_settle_wait"] = {
        "value": round(settle_s, 2),
        "unit": "s",
        "note": "waited before the warm-up for nginx to have every API instance back",
    }
    return figures


def _redis_figures(
    window: dict[str, float], idle_per_s: dict[str, float], seconds: float, result: WrkResult
) -> dict[str, Any]:
    requests = max(result.requests, 1)
    attributed = attributable_commands(window, idle_per_s, seconds)
    top = sorted(attributed.items(), key=lambda kv: -kv[1])[:8]
    return {
        "redis_commands_per_request": {
            "value": round(sum(attributed.values()) / requests, 2),
            "unit": "commands/request",
            "note": "INFO commandstats of the durable master + cache over the window, less the "
            "idle calls per second of the same commands × the window (script calls count)",
        },
        "redis_commands_raw_per_request": {
            "value": round(sum(window.values()) / requests, 2),
            "unit": "commands/request",
            "note": "the same without subtracting the idle baseline",
        },
        "redis_commands_by_command": {
            "value": {cmd: round(n / requests, 3) for cmd, n in top},
            "unit": "commands/request",
        },
    }


def _server_pids(topo: Topology) -> dict[str, list[int]]:
    pids = {
        "api": [a.proc.pid for a in topo.apis if a.proc.alive()],
        "mariadb": [topo.primary.proc.pid, topo.replica.proc.pid],
        "redis": [
            n.proc.pid for n in [*topo.redis.nodes.values(), topo.cache] if n.proc is not None
        ],
    }
    if topo.nginx is not None:
        pids["nginx"] = [topo.nginx.pid]
    if topo.worker is not None:
        pids["worker"] = [topo.worker.pid]
    return pids
