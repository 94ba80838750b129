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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.load import run_wrk
from bench.observe import (
    LogWindow,
    MetricsSnapshot,
    access_figures,
    process_tree_cpu,
    redis_commands,
    server_figures,
)
from bench.seed import BENCH_PASSWORD, SeedSize, content_slug
from bench.topology import Topology, edge_settled

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
    # The mixed workload's hit rate depends on how warm the cache is: its warm-up runs the same
    # workload for longer (a fixed multiple of the measured window, reported in the JSON).
    warmup_factor: float = 1.0


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
    Scenario("cold", "paths", _cold, "content by slug, never-read keys (cache miss → 1 lookup)"),
    Scenario("feeds", "paths", _paths("feeds"), "creator and tag feeds, pages 1-3 (keyset)"),
    Scenario("writes", "writes", _writes, "create a draft, then publish it"),
    Scenario("login", "login", _login, "password login (argon2id)"),
    Scenario("mixed", "mixed", mixed_env, "90 % Zipf reads by slug, 10 % writes, sessions on", 3.0),
]


def measure(ctx: Context, scenario: Scenario, conns: int) -> dict[str, Any]:
    topo = ctx.topo
    settle_s = edge_settled(topo)
    warmup_s = ctx.warmup_s
    if scenario.warmup_factor != 1.0:
        warmup_s = max(warmup_s, scenario.warmup_factor * ctx.duration_s)
    if warmup_s > 0:
        run_wrk(topo.base_url, scenario.script, conns, warmup_s, scenario.env(ctx, conns, warmup_s))
    env = scenario.env(ctx, conns, ctx.duration_s)
    api_urls = [a.base_url for a in topo.apis]
    # Masters only: a replica's count would add every replicated write a second time.
    redis_nodes = [topo.redis.current_master(), topo.cache]
    server_pids = _server_pids(topo)
    window = LogWindow.mark(topo.access_log)
    before = MetricsSnapshot.scrape(api_urls)
    redis_before = redis_commands(redis_nodes)
    cpu_before = {k: process_tree_cpu(v) for k, v in server_pids.items()}
    t0 = time.monotonic()
    result = run_wrk(topo.base_url, scenario.script, conns, ctx.duration_s, env)
    wall = time.monotonic() - t0
    cpu = {
        k: round(100 * (process_tree_cpu(v) - cpu_before[k]) / wall, 1)
        for k, v in server_pids.items()
    }
    redis_after = redis_commands(redis_nodes)
    delta = MetricsSnapshot.scrape(api_urls).delta(before)
    time.sleep(0.2)  # nginx writes its log line after the response is sent
    figures: dict[str, Any] = {
        "scenario": scenario.name,
        "connections": conns,
        "warmup": {"value": warmup_s, "unit": "s"},
    }
    figures.update(result.figures())
    figures.update(access_figures(window.entries()))
    ok = sum(n for s, n in figures["status_counts"]["value"].items() if s.startswith("2"))
    figures["good_throughput"] = {
        "value": round(ok / result.duration_s, 1) if result.duration_s else 0.0,
        "unit": "requests/s",
        "note": "2xx answers only (nginx log), the throughput the targets compare",
    }
    figures.update(server_figures(delta, result.requests))
    figures["redis_commands_per_request"] = {
        "value": round((redis_after - redis_before) / max(result.requests, 1), 2),
        "unit": "commands/request",
        "note": "INFO total_commands_processed, durable master + cache (script calls count)",
    }
    figures["server_cpu"] = {"value": cpu, "unit": "% of one core"}
    figures["edge_settle_wait"] = {
        "value": round(settle_s, 2),
        "unit": "s",
        "note": "waited before the warm-up for nginx to have every API instance back",
    }
    return figures


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
