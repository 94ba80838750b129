"""Targets with PASS/MISS, the JSON result files, the terminal table and the PNG chart."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"

Point = dict[str, Any]


def _point(points: list[Point], scenario: str, conns: int) -> Point | None:
    return next(
        (p for p in points if p["scenario"] == scenario and p["connections"] == conns), None
    )


def _v(point: Point | None, *path: str) -> Any:
    node: Any = point
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def non_2xx(point: Point) -> int:
    """Failed responses nginx logged. 499 is not one: wrk closes its connections at the end of
    the run with requests in flight, and nginx logs those as 499 (client closed)."""
    counts = _v(point, "status_counts", "value") or {}
    return sum(n for s, n in counts.items() if not s.startswith("2") and s != "499")


def _errors(point: Point) -> int:
    errors = _v(point, "errors", "value") or {}
    return int(sum(errors.values()))


def _target(
    name: str, value: float | None, unit: str, ok: bool | None, rule: str
) -> dict[str, Any]:
    status = "n/a" if ok is None else ("PASS" if ok else "MISS")
    return {"target": name, "rule": rule, "value": value, "unit": unit, "status": status}


def evaluate(points: list[Point], high: int, low: int) -> list[dict[str, Any]]:
    """Every ratio uses figures of this run only. A figure of a point whose requests failed says
    nothing about the healthy system: its target is a MISS whatever the value."""
    targets = []

    def clean(point: Point | None) -> bool:
        return point is not None and _errors(point) + non_2xx(point) == 0

    mixed_hi = _point(points, "mixed", high)
    cold_hi = _point(points, "cold", high)
    db_p99 = _v(mixed_hi, "db_time", "value", "p99")
    targets.append(
        _target(
            f"DB time p99 @{high} (mixed)",
            db_p99,
            "ms",
            None if db_p99 is None else clean(mixed_hi) and db_p99 < 50,
            "< 50 ms (aim < 10 ms)",
        )
    )
    cold_p99 = _v(cold_hi, "db_time", "value", "p99")
    targets.append(
        _target(
            f"DB time p99 @{high} (cold point lookups, aim)",
            cold_p99,
            "ms",
            None if cold_p99 is None else clean(cold_hi) and cold_p99 < 10,
            "< 10 ms (aim)",
        )
    )
    hit = _v(mixed_hi, "cache", "value", "hit_rate")
    targets.append(
        _target(
            f"cache hit rate @{high} (mixed)",
            hit,
            "%",
            clean(mixed_hi) and hit is not None and hit >= 80,
            ">= 80 % (aim >= 95 %)",
        )
    )
    total_errors = sum(_errors(p) for p in points)
    failed = sum(non_2xx(p) for p in points if p["scenario"] != "login") + total_errors
    targets.append(
        _target("errors + timeouts, every point", failed, "requests", failed == 0, "== 0")
    )
    for name in ("cached", "cold", "feeds", "writes", "mixed"):
        lo, hi = _point(points, name, low), _point(points, name, high)
        if lo is None or hi is None:
            continue
        # A point with failures has degraded whatever its ratios say (failures are fast).
        no_failures = _errors(lo) + non_2xx(lo) + _errors(hi) + non_2xx(hi) == 0
        ratio = _ratio(_v(hi, "good_throughput", "value"), _v(lo, "good_throughput", "value"))
        targets.append(
            _target(
                f"throughput @{high} / @{low} ({name})",
                ratio,
                "x",
                no_failures and ratio is not None and ratio >= 0.9,
                ">= 0.9, no failures",
            )
        )
        lat = _v(hi, "http_latency", "value") or {}
        tail = _ratio(lat.get("p99"), lat.get("mean"))
        targets.append(
            _target(
                f"HTTP p99 / mean @{high} ({name})",
                tail,
                "x",
                no_failures and tail is not None and tail <= 2,
                "<= 2, no failures",
            )
        )
    cached = _v(_point(points, "cached", high), "good_throughput", "value")
    base = _v(_point(points, "baseline", high), "good_throughput", "value")
    ratio = _ratio(cached, base)
    targets.append(
        _target(
            f"cached / baseline throughput @{high}",
            ratio,
            "x",
            None if ratio is None else ratio >= 0.6,
            ">= 0.6",
        )
    )
    return targets


def _ratio(a: Any, b: Any) -> float | None:
    if a is None or b is None or not b or (isinstance(b, float) and math.isnan(b)):
        return None
    return round(float(a) / float(b), 3)


def annotate_baseline(points: list[Point]) -> None:
    for p in points:
        base = _point(points, "baseline", p["connections"])
        ratio = _ratio(_v(p, "good_throughput", "value"), _v(base, "good_throughput", "value"))
        p["throughput_vs_baseline"] = {"value": ratio, "unit": "x"}


def table(points: list[Point], targets: list[dict[str, Any]]) -> str:
    head = (
        "| scenario | conns | 2xx/s | vs base | p50 ms | p99 ms | mean ms | errors | DB p99 ms "
        "| cache hit % | redis cmd/req | wrk CPU % |"
    )
    lines = [head, "|" + "---|" * 12]
    for p in points:
        lat = _v(p, "http_latency", "value") or {}
        lines.append(
            f"| {p['scenario']} | {p['connections']} | {_fmt(_v(p, 'good_throughput', 'value'))} "
            f"| {_fmt(_v(p, 'throughput_vs_baseline', 'value'))} | {_fmt(lat.get('p50'))} "
            f"| {_fmt(lat.get('p99'))} | {_fmt(lat.get('mean'))} | {_errors(p) + non_2xx(p)} "
            f"| {_fmt(_v(p, 'db_time', 'value', 'p99'))} "
            f"| {_fmt(_v(p, 'cache', 'value', 'hit_rate'))} "
            f"| {_fmt(_v(p, 'redis_commands_per_request', 'value'))} "
            f"| {_fmt(_v(p, 'generator_cpu', 'value'))} |"
        )
    lines += ["", "| target | rule | value | status |", "|---|---|---|---|"]
    for t in targets:
        lines.append(
            f"| {t['target']} | {t['rule']} | {_fmt(t['value'])} {t['unit']} | {t['status']} |"
        )
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return str(value)


def write_results(result: dict[str, Any], stamp: str, name: str = "") -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    prefix = f"{name}-" if name else ""
    path = RESULTS_DIR / f"{prefix}{stamp}.json"
    text = json.dumps(result, ensure_ascii=False, indent=2, default=str)
    path.write_text(text)
    (RESULTS_DIR / f"{prefix}latest.json").write_text(text)
    return path


def chart(points: list[Point], path: Path, low: int, high: int) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(p["scenario"] for p in points))
    fig, (ax_rps, ax_lat) = plt.subplots(2, 1, figsize=(11, 8))
    width = 0.38
    for i, conns in enumerate((low, high)):
        xs = [n + (i - 0.5) * width for n in range(len(names))]
        rps = [_v(_point(points, s, conns), "good_throughput", "value") or 0 for s in names]
        ax_rps.bar(xs, rps, width, label=f"{conns} connections")
        for q, marker in (("p50", "o"), ("p90", "^"), ("p99", "s")):
            lat = [
                _v(_point(points, s, conns), "http_latency", "value", q) or math.nan for s in names
            ]
            ax_lat.scatter(xs, lat, marker=marker, label=f"{q} @{conns}")
    for ax in (ax_rps, ax_lat):
        ax.set_xticks(range(len(names)), names)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8, ncol=2)
    ax_rps.set_ylabel("requests/s")
    ax_rps.set_title("Throughput per scenario, 2xx answers (through nginx)")
    ax_lat.set_ylabel("ms (log scale)")
    ax_lat.set_yscale("log")
    ax_lat.set_title("Per-request latency percentiles (nginx $request_time)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
