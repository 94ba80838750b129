"""What the servers say about a run: nginx's per-request log, the APIs' /metrics, Redis INFO and
the CPU each process used.

Every figure is a difference between a snapshot taken right before the measured window and one
right after it, so warm-ups and other scenarios never leak into a scenario's numbers.
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

# -- nginx access log: one JSON object per request, with $request_time ----------------------------


@dataclass
class LogWindow:
    path: Path
    start: int

    @classmethod
    def mark(cls, path: Path) -> LogWindow:
        return cls(path, path.stat().st_size if path.exists() else 0)

    def entries(self) -> list[dict[str, Any]]:
        with self.path.open("rb") as f:
            f.seek(self.start)
            data = f.read()
        out = []
        for line in data.splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a line cut by the window's end
        return out


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
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": values[-1],
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
