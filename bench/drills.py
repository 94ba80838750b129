"""``make drills``: break one part of the topology at a time under the mixed workload.

For each drill: wrk runs the mixed workload, a probe reads and writes through nginx every 100 ms
(recording the time of each failure), the fault is injected after a few quiet seconds, and the
broken part is restored after the window. Reported per drill: failed requests (wrk's errors and
non-2xx answers logged by nginx, plus failed probes), time to recover (fault injection → the last
failed probe), and acknowledged writes lost: every create the API answered 201 and every publish it
answered 200 (wrk's and the probe's) must be in the primary afterwards.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from tests.support.processes import wait_until
from tests.support.redis_servers import restart_as_replica

from bench import report
from bench.load import WrkResult, run_wrk
from bench.observe import LogWindow, MetricsSnapshot, access_figures, server_figures
from bench.scenarios import Context, mixed_env
from bench.topology import edge_settled


@dataclass
class Probe:
    """Reads and writes through nginx on its own, timestamping every outcome."""

    base_url: str
    read_path: str
    author_token: str
    failures: list[float] = field(default_factory=list)
    acked: list[int] = field(default_factory=list)
    sent: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.author_token}"}
        with httpx.Client(base_url=self.base_url, timeout=5) as client:
            n = 0
            while not self.stop.is_set():
                n += 1
                self.sent += 1
                try:
                    if n % 3:
                        ok = client.get(self.read_path).status_code == 200
                    else:
                        body = {
                            "title": f"演练写入 {n}",
                            "body": "故障演练中确认的写入。",
                            "tags": ["演练"],
                        }
                        r = client.post("/api/v1/contents", json=body, headers=headers)
                        ok = r.status_code == 201
                        if ok:
                            self.acked.append(int(r.json()["id"]))
                except httpx.HTTPError:
                    ok = False
                if not ok:
                    self.failures.append(time.monotonic())
                self.stop.wait(0.1)


Fault = Callable[[Context], dict[str, Any]]


def _redis_master(ctx: Context) -> dict[str, Any]:
    cluster = ctx.topo.redis
    cluster.wait_fresh_replica_info()
    old = cluster.current_master()
    t0 = time.monotonic()
    old.kill9()
    wait_until(lambda: cluster.master_port() != old.port, 60, "Sentinel to promote the replica")
    return {"failover_seconds": round(time.monotonic() - t0, 2), "killed": old.name}


def _redis_master_restore(ctx: Context, info: dict[str, Any]) -> None:
    cluster = ctx.topo.redis
    node = next(n for n in cluster.nodes.values() if n.name == info["killed"])
    restart_as_replica(cluster, node)


def _replica_kill(ctx: Context) -> dict[str, Any]:
    ctx.topo.replica.kill9()
    return {}


def _replica_restore(ctx: Context, info: dict[str, Any]) -> None:
    ctx.topo.replica.start()
    wait_until(ctx.topo.replica.replication_running, 60, "the replica to replicate again")


def _primary_restart(ctx: Context) -> dict[str, Any]:
    t0 = time.monotonic()
    ctx.topo.primary.stop()
    down = time.monotonic()
    ctx.topo.primary.start()
    return {"stop_seconds": round(down - t0, 2), "down_seconds": round(time.monotonic() - down, 2)}


def _api_kill(ctx: Context) -> dict[str, Any]:
    ctx.topo.apis[0].proc.kill9()
    return {"killed": ctx.topo.apis[0].name}


def _api_restore(ctx: Context, info: dict[str, Any]) -> None:
    ctx.topo.restart_api(ctx.topo.apis[0])


def _cache_fill(ctx: Context) -> dict[str, Any]:
    """Write junk keys until the cache instance has been pushed well past maxmemory."""
    with ctx.topo.cache.client() as c:
        maxmemory = int(c.config_get("maxmemory")["maxmemory"])
        evicted0 = int(c.info("stats")["evicted_keys"])
        value = b"x" * 16_384
        written, i = 0, 0
        while written < 1.5 * maxmemory:
            pipe = c.pipeline(transaction=False)
            for _ in range(200):
                pipe.set(f"bench:fill:{i}", value)
                i += 1
            pipe.execute()
            written += 200 * len(value)
        evicted = int(c.info("stats")["evicted_keys"]) - evicted0
    return {"maxmemory_bytes": maxmemory, "written_bytes": written, "evicted_keys": evicted}


def _nothing(ctx: Context, info: dict[str, Any]) -> None:
    return None


DRILLS: list[tuple[str, Fault, Callable[[Context, dict[str, Any]], None]]] = [
    ("redis master kill -9 (Sentinel failover)", _redis_master, _redis_master_restore),
    ("MariaDB replica kill -9", _replica_kill, _replica_restore),
    ("MariaDB primary restart", _primary_restart, _nothing),
    ("API instance kill -9", _api_kill, _api_restore),
    ("cache filled past maxmemory", _cache_fill, _nothing),
]


def _acked_from_files(ctx: Context) -> tuple[set[int], set[int]]:
    created: set[int] = set()
    published: set[int] = set()
    for path in (ctx.work / "acks").glob("acked-*.log"):
        for line in path.read_text().splitlines():
            kind, _, cid = line.partition(" ")
            if cid.isdigit():
                (created if kind == "created" else published).add(int(cid))
    return created, published


def _lost(ctx: Context, created: set[int], published: set[int]) -> dict[str, int]:
    def present(ids: set[int], extra: str = "") -> int:
        found = 0
        ordered = sorted(ids)
        for i in range(0, len(ordered), 1000):
            chunk = ordered[i : i + 1000]
            marks = ",".join(["%s"] * len(chunk))
            found += int(
                ctx.topo.primary.scalar(
                    f"SELECT COUNT(*) FROM contents WHERE id IN ({marks}){extra}",  # noqa: S608
                    chunk,
                    database="sharestack",
                )
            )
        return found

    return {
        "created_acked": len(created),
        "created_lost": len(created) - present(created),
        "published_acked": len(published),
        "published_lost": len(published) - present(published, " AND status = 'published'"),
    }


def run_drill(
    ctx: Context,
    name: str,
    fault: Fault,
    restore: Callable[[Context, dict[str, Any]], None],
    pre_s: float,
    post_s: float,
) -> dict[str, Any]:
    topo = ctx.topo
    edge_settled(topo)
    for old in (ctx.work / "acks").glob("acked-*.log"):
        old.unlink()
    authors = (ctx.work / "authors.tokens").read_text().split()
    probe = Probe(topo.base_url, (ctx.work / "hot.paths").read_text().split()[0], authors[1])
    window = LogWindow.mark(topo.access_log)
    api_urls = [a.base_url for a in topo.apis]
    before = MetricsSnapshot.scrape(api_urls)
    holder: dict[str, WrkResult] = {}
    load = threading.Thread(
        target=lambda: holder.update(
            r=run_wrk(
                topo.base_url, "mixed", 100 if post_s > 6 else 20, pre_s + post_s, mixed_env(ctx)
            )
        )
    )
    prober = threading.Thread(target=probe.run)
    load.start()
    prober.start()
    time.sleep(pre_s)
    t_fault, fault_at = time.monotonic(), time.time()
    info = fault(ctx)
    load.join()
    probe.stop.set()
    prober.join()
    restore(ctx, info)
    try:
        settled: float | None = round(edge_settled(topo), 2)
    except TimeoutError:
        settled = None
    delta = MetricsSnapshot.scrape([a.base_url for a in topo.apis]).delta(before)
    wrk = holder["r"]
    entries = window.entries()
    access = access_figures(entries)
    failed_http = sum(
        n for s, n in access["status_counts"]["value"].items() if s[0] != "2" and s != "499"
    )
    # Failures already happening before the fault are the workload's own, not the drill's.
    before_fault = sum(
        1
        for e in entries
        if str(e.get("status"))[0] != "2"
        and e.get("status") != 499
        and _epoch(str(e.get("time"))) < int(fault_at)
    )
    created, published = _acked_from_files(ctx)
    lost = _lost(ctx, created | set(probe.acked), published)
    last_failure = max((t for t in probe.failures if t >= t_fault), default=None)
    return {
        "drill": name,
        "fault": info,
        "requests": {"value": wrk.requests + probe.sent, "unit": "requests"},
        "failed_requests": {
            "value": failed_http
            + sum(wrk.errors.values())
            - wrk.errors.get("status", 0)
            + len(probe.failures),
            "unit": "requests",
            "note": "nginx non-2xx (499 excluded) + wrk socket errors/timeouts + failed probes",
        },
        "failed_before_fault": {
            "value": before_fault + sum(1 for t in probe.failures if t < t_fault),
            "unit": "requests",
            "note": "nginx non-2xx logged before the fault's second + probes failed before it",
        },
        "probe_failures": {"value": len(probe.failures), "unit": "probes"},
        "time_to_recover": {
            "value": round(last_failure - t_fault, 2) if last_failure else 0.0,
            "unit": "s",
            "note": "fault injection → last failed probe (0: no probe failed)",
        },
        "acknowledged_writes": {"value": lost, "unit": "writes"},
        "healthy_after_restore": {
            "value": settled is not None,
            "unit": "bool",
            "note": f"every instance answered /readyz through nginx {settled} s after the restore",
        },
        "http_latency": access["http_latency"],
        "status_counts": access["status_counts"],
        "cache": server_figures(delta, wrk.requests)["cache"],
    }


def _epoch(iso: str) -> float:
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return float("inf")


def drills_table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| drill | requests | failed | of which before the fault | recover s | acked writes "
        "| lost | cache hit % | status |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        acked = r["acknowledged_writes"]["value"]
        lost = acked["created_lost"] + acked["published_lost"]
        lines.append(
            f"| {r['drill']} | {r['requests']['value']} | {r['failed_requests']['value']} "
            f"| {r['failed_before_fault']['value']} "
            f"| {r['time_to_recover']['value']} "
            f"| {acked['created_acked'] + acked['published_acked']} "
            f"| {lost} | {r['cache']['value']['hit_rate']} | {'PASS' if lost == 0 else 'MISS'} |"
        )
    return "\n".join(lines)


def run_drills(ctx: Context, meta: dict[str, Any], stamp: str, smoke: bool = False) -> bool:
    pre_s, post_s = (1.0, 4.0) if smoke else (3.0, 15.0)
    results = []
    for name, fault, restore in DRILLS:
        print(f"→ drill: {name}", flush=True)
        results.append(run_drill(ctx, name, fault, restore, pre_s, post_s))
        time.sleep(1.0)
    result = {"meta": meta, "drills": results}
    path = report.write_results(result, stamp, "drills-smoke" if smoke else "drills")
    print(drills_table(results))
    print(f"\nresults: {path}")
    lost: int = sum(
        r["acknowledged_writes"]["value"]["created_lost"]
        + r["acknowledged_writes"]["value"]["published_lost"]
        for r in results
    )
    unhealthy = [r["drill"] for r in results if not r["healthy_after_restore"]["value"]]
    for name in unhealthy:
        print(f"DRILL FAIL {name}: the topology did not come back", file=sys.stderr)
    return lost > 0 or bool(unhealthy)
