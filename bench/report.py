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


# Past the password-hashing bulkhead a log-in is shed at once (503 with Retry-After) or rate
# limited (429): the designed answers under overload, not failures.
DESIGNED_ANSWERS = {"login": frozenset({"503", "429"})}
READ_SCENARIOS = ("cached", "auth-read", "cold", "feeds", "own-items")
LIST_SCENARIOS = ("feeds", "own-items")


def designed(point: Point) -> int:
    counts = _v(point, "status_counts", "value") or {}
    return sum(counts.get(s, 0) for s in DESIGNED_ANSWERS.get(point["scenario"], ()))


def non_2xx(point: Point) -> int:
    """Failed responses nginx logged. 499 is not one: wrk closes its connections at the end of
    the run with requests in flight, and nginx logs those as 499 (client closed). Nor is a
    scenario's designed answer (a shed log-in)."""
    counts = _v(point, "status_counts", "value") or {}
    ok = DESIGNED_ANSWERS.get(point["scenario"], frozenset())
    return sum(n for s, n in counts.items() if not s.startswith("2") and s != "499" and s not in ok)


def _errors(point: Point) -> int:
    """wrk's socket errors and timeouts, and its non-2xx count less the designed answers (wrk
    counts those as "status" errors; its count and nginx's are taken a moment apart, so they
    may differ by the last answer)."""
    errors = dict(_v(point, "errors", "value") or {})
    errors["status"] = max(0, errors.get("status", 0) - designed(point))
    return int(sum(errors.values()))


def failures(point: Point) -> int:
    return _errors(point) + non_2xx(point)


def _target(
    name: str, value: float | None, unit: str, ok: bool | None, rule: str
) -> dict[str, Any]:
    status = "n/a" if ok is None else ("PASS" if ok else "MISS")
    return {"target": name, "rule": rule, "value": value, "unit": unit, "status": status}


def _worst(points: list[Point], scenario: str, *path: str) -> float | None:
    """The highest value of a figure over a scenario's points (every connection count)."""
    values = [_v(p, *path) for p in points if p["scenario"] == scenario]
    numbers = [float(v) for v in values if isinstance(v, int | float) and not math.isnan(v)]
    return max(numbers) if numbers else None


def _at_most(name: str, value: float | None, unit: str, limit: float) -> dict[str, Any]:
    return _target(name, value, unit, None if value is None else value <= limit, f"<= {limit:g}")


def evaluate(points: list[Point], high: int, low: int) -> list[dict[str, Any]]:
    """Every ratio uses figures of this run only. A figure of a point whose requests failed says
    nothing about the healthy system: its target is a MISS whatever the value. Targets of
    scenarios that did not run (``--only``) are left out."""
    targets = []
    ran = {p["scenario"] for p in points}

    def clean(point: Point | None) -> bool:
        return point is not None and failures(point) == 0

    def below(point: Point | None, name: str, figure: str, bound: float, rule: str) -> None:
        """A p99 (ms) under ``bound``; skipped when the point did not run."""
        if point is None:
            return
        p99 = _v(point, figure, "value", "p99")
        ok = None if p99 is None else clean(point) and p99 < bound
        targets.append(_target(name, p99, "ms", ok, rule))

    mixed_hi = _point(points, "mixed", high)
    cold_hi = _point(points, "cold", high)
    below(
        mixed_hi, f"DB time p99 @{high} (mixed, in the API)", "db_time", 50, "< 50 ms (aim < 10 ms)"
    )
    below(
        mixed_hi,
        f"DB operation p99 @{high} (mixed, the database's own)",
        "db_server_time",
        10,
        "< 10 ms",
    )
    below(mixed_hi, f"pool wait p99 @{high} (mixed)", "db_pool_wait", 20, "< 20 ms")
    below(cold_hi, f"DB time p99 @{high} (cold point lookups, aim)", "db_time", 10, "< 10 ms (aim)")
    if mixed_hi is not None:
        hit = _v(mixed_hi, "cache", "value", "hit_rate")
        for floor in (80, 95):
            targets.append(
                _target(
                    f"cache hit rate @{high} (mixed, after the steady-state warm-up)",
                    hit,
                    "%",
                    clean(mixed_hi) and hit is not None and hit >= floor,
                    f">= {floor} %",
                )
            )
    failed = sum(failures(p) for p in points)
    targets.append(
        _target(
            "errors + timeouts, every point",
            failed,
            "requests",
            failed == 0,
            "== 0 (a shed log-in, 503/429, is a designed answer)",
        )
    )
    for name in (*READ_SCENARIOS, "writes", "mixed"):
        lo, hi = _point(points, name, low), _point(points, name, high)
        if lo is None or hi is None:
            continue
        # A point with failures has degraded whatever its ratios say (failures are fast).
        no_failures = clean(lo) and clean(hi)
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

    def throughput_ratio(
        name: str, top: Point, bottom: Point, bound: float, *, needs_clean: bool
    ) -> None:
        """2xx throughput of ``top`` / ``bottom`` at least ``bound``."""
        ratio = _ratio(_v(top, "good_throughput", "value"), _v(bottom, "good_throughput", "value"))
        ok = None if ratio is None else (clean(top) or not needs_clean) and ratio >= bound
        targets.append(_target(name, ratio, "x", ok, f">= {bound:g}"))

    cached_hi, base_hi = _point(points, "cached", high), _point(points, "baseline", high)
    if cached_hi is not None and base_hi is not None:
        name = f"cached / baseline throughput @{high}"
        throughput_ratio(name, cached_hi, base_hi, 0.6, needs_clean=True)
        cpu = _ratio(
            _v(cached_hi, "api_cpu_per_request", "value"),
            _v(base_hi, "api_cpu_per_request", "value"),
        )
        targets.append(_at_most(f"API CPU per cached read / baseline's @{high}", cpu, "x", 2))
    per_request = [
        ("cached", "redis_commands_per_request", 1, "Redis commands per anonymous cached read"),
        ("cold", "db_statements_per_request", 1, "statements per cold read"),
        ("cold", "redis_commands_per_request", 4, "Redis commands per cold read"),
        *[
            (n, "db_statements_per_request", 3, f"statements per list request ({n})")
            for n in LIST_SCENARIOS
        ],
        ("writes", "db_statements_per_request", 6, "statements per write (create, publish)"),
        ("writes", "redis_commands_per_request", 8, "Redis commands per write (create, publish)"),
    ]
    for scenario, figure, limit, label in per_request:
        if scenario in ran:
            value = _worst(points, scenario, figure, "value")
            unit = "commands" if figure.startswith("redis") else "statements"
            targets.append(_at_most(f"{label}, worst point", value, unit, limit))
    login_lo, login_hi = _point(points, "login", low), _point(points, "login", high)
    if login_lo is not None and login_hi is not None:
        # Shed log-ins (503/429) are designed answers there, not failures.
        name = f"log-ins/s @{high} / @{low}"
        throughput_ratio(name, login_hi, login_lo, 0.9, needs_clean=False)
        slowest = _v(login_hi, "http_latency", "value", "max")
        targets.append(
            _target(
                f"slowest log-in answer @{high} (nginx, shed answers included)",
                slowest,
                "ms",
                None if slowest is None else slowest <= 2000,
                "<= 2000 ms",
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


# (header, figure path) per column of the points table.
COLUMNS: list[tuple[str, tuple[str, ...]]] = [
    ("2xx/s", ("good_throughput", "value")),
    ("vs base", ("throughput_vs_baseline", "value")),
    ("p50 ms", ("http_latency", "value", "p50")),
    ("p99 ms", ("http_latency", "value", "p99")),
    ("mean ms", ("http_latency", "value", "mean")),
    ("DB op p50 ms", ("db_server_time", "value", "p50")),
    ("DB op p99 ms", ("db_server_time", "value", "p99")),
    ("DB time p99 ms", ("db_time", "value", "p99")),
    ("pool wait p99 ms", ("db_pool_wait", "value", "p99")),
    ("loop lag p50 ms", ("event_loop_lag", "value", "p50")),
    ("loop lag p99 ms", ("event_loop_lag", "value", "p99")),
    ("cache hit %", ("cache", "value", "hit_rate")),
    ("SQL/req", ("db_statements_per_request", "value")),
    ("Redis/req", ("redis_commands_per_request", "value")),
    ("API CPU ms/req", ("api_cpu_per_request", "value")),
    ("worker CPU ms/req", ("worker_cpu_per_request", "value")),
    ("wrk CPU %", ("generator_cpu", "value")),
]


def table(points: list[Point], targets: list[dict[str, Any]]) -> str:
    heads = ["scenario", "conns", "errors", *(h for h, _ in COLUMNS)]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for p in points:
        cells = [p["scenario"], str(p["connections"]), str(failures(p))]
        cells += [_fmt(_v(p, *path)) for _, path in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    warm = next((_v(p, "cache_warmup", "value") for p in points if "cache_warmup" in p), None)
    if warm:
        curve = ", ".join(f"{r['hit_rate']:.1f}" for r in warm["rounds"])
        lines += [
            "",
            f"cache warm-up (mixed @{warm['connections']}): {curve} % per round; "
            f"stopped on {warm['stopped']} after {warm['seconds']:g} s",
        ]
        prefill = warm.get("prefill")
        if prefill:
            lines.append(f"before it, `{prefill['command']}`: {prefill['output']}")
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
    fig, axes = plt.subplots(3, 2, figsize=(15, 12))
    (ax_rps, ax_lat), (ax_cost, ax_db), (ax_warm, ax_free) = axes
    ax_free.axis("off")
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
    _grouped(
        ax_cost,
        points,
        names,
        high,
        [
            ("API CPU ms", "api_cpu_per_request", "value"),
            ("worker CPU ms", "worker_cpu_per_request", "value"),
            ("SQL statements", "db_statements_per_request", "value"),
            ("Redis commands", "redis_commands_per_request", "value"),
        ],
    )
    _grouped(
        ax_db,
        points,
        names,
        high,
        [
            ("DB operation p99 (server)", "db_server_time", "value", "p99"),
            ("DB time p99 (API)", "db_time", "value", "p99"),
            ("pool wait p99", "db_pool_wait", "value", "p99"),
            ("event-loop lag p99", "event_loop_lag", "value", "p99"),
        ],
    )
    warm = next((_v(p, "cache_warmup", "value") for p in points if "cache_warmup" in p), None)
    if warm:
        rounds = warm["rounds"]
        ax_warm.plot([r["t_s"] for r in rounds], [r["hit_rate"] for r in rounds], marker="o")
        ax_warm.set_xlabel("s of warm-up")
    for ax in (ax_rps, ax_lat, ax_cost, ax_db):
        ax.set_xticks(range(len(names)), names, rotation=20, fontsize=8)
    for ax in (ax_rps, ax_lat, ax_cost, ax_db, ax_warm):
        ax.grid(axis="y", alpha=0.3)
    for ax in (ax_rps, ax_lat, ax_cost, ax_db):
        ax.legend(fontsize=8, ncol=2)
    ax_rps.set_ylabel("requests/s")
    ax_rps.set_title("Throughput per scenario, 2xx answers (through nginx)")
    ax_lat.set_ylabel("ms (log scale)")
    ax_lat.set_yscale("log")
    ax_lat.set_title("Per-request latency percentiles (nginx $request_time)")
    ax_cost.set_ylabel("per request (log scale)")
    ax_cost.set_yscale("log")
    ax_cost.set_title(f"Cost per request @{high}: CPU ms, statements, Redis commands")
    ax_db.set_ylabel("ms (log scale)")
    ax_db.set_yscale("log")
    ax_db.set_title(f"Database and event loop @{high}, p99")
    ax_warm.set_ylabel("cache hit rate %")
    ax_warm.set_title("Cache warm-up before the mixed workload, hit rate per round")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _grouped(
    ax: Any, points: list[Point], names: list[str], conns: int, series: list[tuple[str, ...]]
) -> None:
    width = 0.8 / len(series)
    for i, (label, *path) in enumerate(series):
        xs = [n + (i - (len(series) - 1) / 2) * width for n in range(len(names))]
        values = [_v(_point(points, s, conns), *path) for s in names]
        ax.bar(xs, [v if isinstance(v, int | float) else 0 for v in values], width, label=label)
