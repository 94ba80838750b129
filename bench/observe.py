"""What the servers say about a run: nginx's per-request log, the APIs' /metrics, MariaDB's slow
log, Redis INFO and the CPU each process used.

Every figure is a difference between a snapshot taken right before the measured window and one
right after it, so warm-ups and other scenarios never leak into a scenario's numbers.
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

# -- nginx access log: one JSON object per request, with $request_time ----------------------------


@dataclass
class LogWindow:
    """A log file's bytes from ``start`` to ``end`` (to the end of the file when not closed)."""

    path: Path
    start: int
    end: int | None = None

    @classmethod
    def mark(cls, path: Path) -> LogWindow:
        return cls(path, _size(path))

    def close(self) -> None:
        self.end = _size(self.path)

    def raw(self) -> bytes:
        if not self.path.exists():
            return b""
        with self.path.open("rb") as f:
            f.seek(self.start)
            return f.read() if self.end is None else f.read(max(0, self.end - self.start))

    def entries(self) -> list[dict[str, Any]]:
        out = []
        for line in self.raw().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a line cut by the window's end
        return out


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    k = max(0, min(len(sorted_values) - 1, math.ceil(q / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def latency_summary(values_s: Iterable[float]) -> dict[str, float]:
    values = sorted(v * 1000 for v in values_s)
    if not values:
        return {}
    return {
        "mean": round(sum(values) / len(values), 3),
        "p50": round(percentile(values, 50), 3),
        "p90": round(percentile(values, 90), 3),
        "p99": round(percentile(values, 99), 3),
        "max": round(values[-1], 3),
    }


def access_figures(entries: list[dict[str, Any]]) -> dict[str, Any]:
    statuses: dict[str, int] = defaultdict(int)
    for e in entries:
        statuses[str(e.get("status"))] += 1
    upstream = [_first_float(e.get("upstream_response_time")) for e in entries]
    return {
        "requests_logged": {"value": len(entries), "unit": "requests"},
        "status_counts": {"value": dict(sorted(statuses.items())), "unit": "requests"},
        "http_latency": {
            "value": latency_summary(float(e["request_time"]) for e in entries),
            "unit": "ms",
            "note": "per request, nginx $request_time (1 ms resolution)",
        },
        "upstream_latency": {
            "value": latency_summary(u for u in upstream if u is not None),
            "unit": "ms",
            "note": "per request, nginx $upstream_response_time",
        },
    }


def _first_float(value: object) -> float | None:
    try:
        return float(str(value).split(",")[0].strip())
    except ValueError:
        return None


# -- MariaDB's own account: the slow log at long_query_time = 0 ------------------------------------


def slow_log_times(text: str, users: Collection[str]) -> list[float]:
    """Query_time (seconds, as the server measured it) of every entry written by one of
    ``users``. An entry starts with ``# User@Host: name[name] @ ...``; its ``# Query_time:`` line
    follows. An entry cut by the window's start has no user line and is skipped; one cut by the
    window's end is kept only if its Query_time line made it in (the time is complete then)."""
    times, user = [], None
    for line in text.splitlines():
        if line.startswith("# User@Host: "):
            user = line.removeprefix("# User@Host: ").split("[", 1)[0].strip()
        elif line.startswith("# Query_time: ") and user is not None:
            if user in users:
                times.append(float(line.split()[2]))
            user = None
    return times


def db_server_figures(
    windows: dict[str, LogWindow], users: Collection[str], requests: int
) -> dict[str, Any]:
    times = {
        name: slow_log_times(w.raw().decode("utf-8", errors="replace"), users)
        for name, w in windows.items()
    }
    every = [t for ts in times.values() for t in ts]
    summary: dict[str, Any] = {"count": len(every), **latency_summary(every)}
    summary["by_server"] = {
        name: {"count": len(ts), **latency_summary(ts)} for name, ts in times.items()
    }
    return {
        "db_server_time": {
            "value": summary,
            "unit": "ms",
            "note": "per statement, Query_time from the primary's and replica's slow logs "
            "(long_query_time = 0), the application's account only",
        },
        "db_server_statements_per_request": {
            "value": round(len(every) / max(requests, 1), 3),
            "unit": "statements/request",
            "note": "as the servers counted them (SET NAMES, COMMIT and ROLLBACK included)",
        },
    }


# -- the APIs' /metrics --------------------------------------------------------------------------


@dataclass
class MetricsSnapshot:
    """Samples summed over every API instance: name → labels (sorted tuple) → value."""

    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = field(default_factory=dict)

    @classmethod
    def scrape(cls, base_urls: Sequence[str]) -> MetricsSnapshot:
        snap = cls()
        for url in base_urls:
            try:
                text = httpx.get(f"{url}/metrics", timeout=5).text
            except httpx.HTTPError:
                continue  # a killed instance (drills): the others still count
            for family in text_string_to_metric_families(text):
                for s in family.samples:
                    bucket = snap.samples.setdefault(s.name, {})
                    key = tuple(sorted(s.labels.items()))
                    bucket[key] = bucket.get(key, 0.0) + s.value
        return snap

    def delta(self, before: MetricsSnapshot) -> MetricsSnapshot:
        out = MetricsSnapshot()
        for name, series in self.samples.items():
            prev = before.samples.get(name, {})
            out.samples[name] = {k: v - prev.get(k, 0.0) for k, v in series.items()}
        return out

    def total(self, name: str, **match: str) -> float:
        return sum(v for k, v in self.samples.get(name, {}).items() if _matches(k, match))

    def by_label(self, name: str, label: str) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for key, value in self.samples.get(name, {}).items():
            out[dict(key).get(label, "")] += value
        return dict(out)

    def histogram_quantiles(self, name: str, **match: str) -> dict[str, float]:
        """p50/p90/p99 (ms) by linear interpolation inside Prometheus buckets, and the mean."""
        buckets: dict[float, float] = defaultdict(float)
        for key, value in self.samples.get(f"{name}_bucket", {}).items():
            labels = dict(key)
            if _matches(key, match):
                buckets[float(labels["le"])] += value
        count = self.total(f"{name}_count", **match)
        if count <= 0:
            return {"count": 0}
        total = self.total(f"{name}_sum", **match)
        out = {"count": count, "mean": round(1000 * total / count, 3)}
        for q in (50, 90, 99):
            out[f"p{q}"] = round(1000 * _bucket_quantile(sorted(buckets.items()), q / 100), 3)
        return out


def _matches(key: tuple[tuple[str, str], ...], match: dict[str, str]) -> bool:
    labels = dict(key)
    return all(labels.get(k) == v for k, v in match.items())


def _bucket_quantile(buckets: list[tuple[float, float]], q: float) -> float:
    total = buckets[-1][1] if buckets else 0.0
    if total <= 0:
        return math.nan
    rank, prev_le, prev_count = q * total, 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if math.isinf(le):
                return prev_le
            width = count - prev_count
            return prev_le + (le - prev_le) * ((rank - prev_count) / width if width else 1.0)
        prev_le, prev_count = le, count
    return prev_le


def server_figures(delta: MetricsSnapshot, requests: int) -> dict[str, Any]:
    hits = delta.by_label("sharestack_cache_hits_total", "family")
    misses = delta.by_label("sharestack_cache_misses_total", "family")
    families = {}
    for family in sorted(set(hits) | set(misses)):
        h, m = hits.get(family, 0.0), misses.get(family, 0.0)
        if h + m:
            families[family] = {"hits": h, "misses": m, "hit_rate": round(100 * h / (h + m), 2)}
    all_h, all_m = sum(hits.values()), sum(misses.values())
    return {
        "db_time": {
            "value": delta.histogram_quantiles("sharestack_db_time_seconds"),
            "unit": "ms",
            "note": "per connection checkout: pool wait + statements (API /metrics)",
        },
        "db_pool_wait": {
            "value": delta.histogram_quantiles("sharestack_db_pool_wait_seconds"),
            "unit": "ms",
        },
        "db_query": {
            "value": delta.histogram_quantiles("sharestack_db_query_seconds"),
            "unit": "ms",
        },
        "event_loop_lag": {
            "value": delta.histogram_quantiles("sharestack_event_loop_lag_seconds"),
            "unit": "ms",
            "note": "how late a 50 ms asyncio.sleep woke, every API process (API /metrics)",
        },
        "db_statements_per_request": {
            "value": round(delta.total("sharestack_db_statements_total") / max(requests, 1), 3),
            "unit": "statements/request",
        },
        "api_latency": {
            "value": delta.histogram_quantiles("sharestack_http_request_duration_seconds"),
            "unit": "ms",
            "note": "inside the API (middleware to end of body), from coarse buckets",
        },
        "cache": {
            "value": {
                "families": families,
                "hit_rate": round(100 * all_h / (all_h + all_m), 2) if all_h + all_m else None,
            },
            "unit": "% (hits / (hits + misses)), counts in reads",
        },
    }


# -- Redis and process CPU -------------------------------------------------------------------------


def redis_commands(nodes: Sequence[Any]) -> float:
    """Commands processed by the given Redis nodes (INFO stats), summed."""
    total = 0.0
    for node in nodes:
        try:
            with node.client() as c:
                total += float(c.info("stats")["total_commands_processed"])
        except Exception:  # noqa: S112 - a killed node (drills) has nothing to add
            continue
    return total


def redis_command_calls(nodes: Sequence[Any]) -> dict[str, float]:
    """Calls per command name (INFO commandstats), summed over the given nodes."""
    calls: dict[str, float] = defaultdict(float)
    for node in nodes:
        try:
            with node.client() as c:
                stats = c.info("commandstats")
        except Exception:  # noqa: S112 - a killed node (drills) has nothing to add
            continue
        for key, value in stats.items():
            calls[key.removeprefix("cmdstat_")] += float(value["calls"])
    return dict(calls)


def calls_delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0) > 0}


def attributable_commands(
    window: dict[str, float], idle_per_s: dict[str, float], seconds: float
) -> dict[str, float]:
    """The window's calls per command less what the same servers do with no load over the same
    time (Sentinel's PING/INFO/PUBLISH hello, replication's REPLCONF ACK, the worker's idle
    polling), never below zero per command."""
    out = {}
    for cmd, n in window.items():
        left = n - idle_per_s.get(cmd, 0.0) * seconds
        if left > 0:
            out[cmd] = left
    return out


def process_tree_cpu(pids: Sequence[int]) -> float:
    """CPU seconds used so far by these processes and all their descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rfind(")") + 2 :].split()
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    wanted = set(pids)
    changed = True
    while changed:
        children = {pid for pid, (ppid, _) in stats.items() if ppid in wanted} - wanted
        changed = bool(children)
        wanted |= children
    return sum(stats[p][1] for p in wanted if p in stats)
