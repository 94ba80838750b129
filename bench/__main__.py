"""``python -m bench run|drills [--small] [--smoke]``: see bench/README.md.

Run from the repository root with the backend's virtualenv and ``PYTHONPATH=backend`` (the make
targets do this): the topology comes from ``backend/tests/support``.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report
from bench.scenarios import SCENARIOS, Context, measure, prepare_inputs
from bench.seed import SeedSize, seed
from bench.topology import Topology, topology

LOW, HIGH = 10, 100


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument(
        "command",
        choices=["run", "drills", "smoke"],
        help="smoke = run --smoke then drills --smoke on one topology (CI)",
    )
    parser.add_argument("--small", action="store_true", help="small data set (CI)")
    parser.add_argument(
        "--smoke", action="store_true", help="small data, seconds per point: harness check only"
    )
    parser.add_argument("--duration", type=float, default=None, help="seconds per point")
    parser.add_argument("--warmup", type=float, default=None, help="seconds of warm-up per point")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--keep", action="store_true", help="keep the run directory (logs)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    args.smoke = args.smoke or args.command == "smoke"
    small = args.small or args.smoke
    size = SeedSize.small() if small else SeedSize.full()
    duration = args.duration or (1.5 if args.smoke else 10.0)
    warmup = args.warmup if args.warmup is not None else (0.5 if args.smoke else 3.0)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = Path(tempfile.mkdtemp(prefix=f"ss_bench_{stamp}_"))
    meta: dict[str, Any] = {
        "started_at": stamp,
        "mode": "smoke" if args.smoke else ("small" if small else "full"),
        "seconds_per_point": duration,
        "warmup_seconds": warmup,
        "machine": {"cpus": _cpus(), "python": platform.python_version()},
    }
    failed = True
    try:
        with topology(run_dir, lambda t: _seed(t, size, meta)) as topo:
            ctx = Context(topo, size, run_dir / "work", duration, warmup, warm_connections=HIGH)
            # Cache warm-up rounds of half a window, at most 9 windows (5 s and 90 s by default);
            # the smoke only needs the curve to exist, not how high it gets.
            ctx.warm_round_s = 1.0 if args.smoke else max(1.0, duration / 2)
            ctx.warm_max_s = 4.0 if args.smoke else 9 * duration
            ctx.work.mkdir()
            prepare_inputs(ctx)
            failed = False
            if args.command in ("run", "smoke"):
                failed = _bench(ctx, args, meta, stamp)
            if args.command in ("drills", "smoke"):
                from bench.drills import run_drills

                failed = run_drills(ctx, meta, stamp, smoke=args.smoke) or failed
    finally:
        if args.keep or failed:
            print(f"run directory kept: {run_dir}", file=sys.stderr)
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
    return 1 if failed else 0


def _seed(topo: Topology, size: SeedSize, meta: dict[str, Any]) -> None:
    t0 = time.monotonic()
    meta["seed"] = {"rows": seed(topo.primary.url(), size), "seconds": 0.0}
    meta["seed"]["seconds"] = round(time.monotonic() - t0, 1)


def _bench(ctx: Context, args: argparse.Namespace, meta: dict[str, Any], stamp: str) -> bool:
    only = {s for s in args.only.split(",") if s}
    points = []
    for scenario in SCENARIOS:
        if only and scenario.name not in only:
            continue
        for conns in (LOW, HIGH):
            print(f"→ {scenario.name} @{conns} connections for {ctx.duration_s:g} s", flush=True)
            points.append(measure(ctx, scenario, conns))
    report.annotate_baseline(points)
    # What redis_commands_per_request subtracts: calls per command and second with no load.
    meta["redis_idle_calls_per_s"] = ctx.redis_idle_per_s
    targets = report.evaluate(points, HIGH, LOW)
    result = {"meta": meta, "points": points, "targets": targets}
    name = "smoke" if args.smoke else ""
    path = report.write_results(result, stamp, name)
    png = report.chart(points, path.with_suffix(".png"), LOW, HIGH)
    shutil.copyfile(png, report.RESULTS_DIR / f"{name + '-' if name else ''}latest.png")
    print(report.table(points, targets))
    print(f"\nresults: {path}\nchart:   {png}")
    if args.smoke:
        return _smoke_failed(points)
    return False


# Figures every point must have (a smoke point lasts too little for some of them to be non-zero,
# but they must be there): (figure, path inside "value" or None for the value itself).
_EVERY_POINT = [
    ("event_loop_lag", "count"),
    ("db_server_time", "count"),
    ("db_statements_per_request", None),
    ("redis_commands_per_request", None),
    ("api_cpu_per_request", None),
    ("worker_cpu_per_request", None),
    ("db_pool_wait", "count"),
]
# Scenarios whose every request uses the database: their database figures cannot be empty.
_DB_SCENARIOS = ("cold", "feeds", "own-items", "writes", "mixed")


def _smoke_failed(points: list[dict[str, Any]]) -> bool:
    """The smoke checks the harness, not the times: figures exist and nothing failed."""
    problems = []
    for p in points:
        label = f"{p['scenario']}@{p['connections']}"
        # A login takes longer than a smoke point lasts at 100 connections: no completed one is
        # no finding there.
        if p["scenario"] != "login" and not (p["requests"]["value"] and p["http_latency"]["value"]):
            problems.append(f"{label}: no requests measured")
        if report.failures(p):
            problems.append(
                f"{label}: errors {p['errors']['value']}, statuses {p['status_counts']['value']}"
            )
        for figure, key in _EVERY_POINT:
            value = p.get(figure, {}).get("value")
            if key is not None:
                value = value.get(key) if isinstance(value, dict) else None
            if value is None and not (p["scenario"] == "login" and figure.endswith("per_request")):
                problems.append(f"{label}: no {figure}")
        if not p["event_loop_lag"]["value"].get("count"):
            problems.append(f"{label}: the event-loop lag histogram observed nothing")
        if p["scenario"] in _DB_SCENARIOS:
            for figure in ("db_time", "db_server_time"):
                if not p[figure]["value"].get("count"):
                    problems.append(f"{label}: no {figure} (statements) measured")
        if p["scenario"] == "mixed" and not p.get("cache_warmup", {}).get("value", {}).get(
            "rounds"
        ):
            problems.append(f"{label}: no cache warm-up curve")
    for line in problems:
        print(f"SMOKE FAIL {line}", file=sys.stderr)
    return bool(problems)


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    sys.exit(main())
