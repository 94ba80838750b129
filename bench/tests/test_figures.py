"""The bench's own arithmetic, without servers: percentiles, histogram quantiles, targets."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from bench import report
from bench.observe import MetricsSnapshot, latency_summary, percentile
from bench.scenarios import rank_to_id
from bench.topology import _lift_per_ip_limits


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert math.isnan(percentile([], 50))
    assert latency_summary([0.001, 0.002, 0.003])["max"] == 3


def test_histogram_quantile_interpolates_inside_the_bucket() -> None:
    snap = MetricsSnapshot()
    name = "sharestack_db_time_seconds"
    buckets = {"0.001": 50.0, "0.01": 100.0, "+Inf": 100.0}
    snap.samples[f"{name}_bucket"] = {
        (("engine", "primary"), ("le", k)): v for k, v in buckets.items()
    }
    snap.samples[f"{name}_count"] = {(("engine", "primary"),): 100.0}
    snap.samples[f"{name}_sum"] = {(("engine", "primary"),): 0.3}
    q = snap.histogram_quantiles(name)
    assert q["p50"] == pytest.approx(1.0)
    assert q["p90"] == pytest.approx(1 + 9 * 0.8)
    assert q["mean"] == pytest.approx(3.0)


def test_deltas_subtract_label_by_label() -> None:
    before, after = MetricsSnapshot(), MetricsSnapshot()
    key = (("family", "content"),)
    before.samples["sharestack_cache_hits_total"] = {key: 10.0}
    after.samples["sharestack_cache_hits_total"] = {key: 25.0}
    assert after.delta(before).by_label("sharestack_cache_hits_total", "family") == {"content": 15}


def test_ranks_map_to_every_id_once() -> None:
    n = 3000
    assert sorted(rank_to_id(r, n) for r in range(1, n + 1)) == list(range(1, n + 1))


def _point(scenario: str, conns: int, rps: float, p99: float, mean: float) -> dict[str, Any]:
    return {
        "scenario": scenario,
        "connections": conns,
        "good_throughput": {"value": rps},
        "errors": {"value": {"connect": 0, "timeout": 0}},
        "status_counts": {"value": {"200": 100, "499": 3}},
        "http_latency": {"value": {"p99": p99, "mean": mean}},
        "db_time": {"value": {"p99": 4.0}},
        "cache": {"value": {"hit_rate": 97.0}},
    }


def test_targets_use_ratios_of_the_same_run() -> None:
    points = [
        _point("baseline", 10, 1000, 20, 10),
        _point("baseline", 100, 1000, 200, 100),
        _point("cached", 10, 700, 20, 14),
        _point("cached", 100, 650, 300, 150),
        _point("mixed", 10, 500, 30, 20),
        _point("mixed", 100, 400, 600, 250),
    ]
    status = {t["target"]: t["status"] for t in report.evaluate(points, 100, 10)}
    assert status["cached / baseline throughput @100"] == "PASS"  # 0.65
    assert status["throughput @100 / @10 (mixed)"] == "MISS"  # 0.8
    assert status["HTTP p99 / mean @100 (mixed)"] == "MISS"  # 2.4
    assert status["errors + timeouts, every point"] == "PASS"  # a 499 is not a failure
    assert status["DB time p99 @100 (mixed, in the API)"] == "PASS"


def test_a_point_with_failures_is_degraded_whatever_its_ratios() -> None:
    points = [_point("writes", 10, 100, 20, 10), _point("writes", 100, 200, 15, 10)]
    points[1]["status_counts"]["value"]["503"] = 5
    status = {t["target"]: t["status"] for t in report.evaluate(points, 100, 10)}
    assert status["throughput @100 / @10 (writes)"] == "MISS"
    assert status["HTTP p99 / mean @100 (writes)"] == "MISS"
    assert status["errors + timeouts, every point"] == "MISS"


def test_only_the_per_ip_limits_are_lifted(tmp_path: Path) -> None:
    conf = tmp_path / "sharestack"
    conf.mkdir()
    (conf / "limits.conf").write_text(
        "limit_req_zone $binary_remote_addr zone=a:10m rate=50r/s;\n"
        "limit_req_zone $binary_remote_addr zone=b:10m rate=10r/m;\n"
    )
    (conf / "app.conf").write_text(
        "limit_req zone=a burst=100 nodelay;\nlimit_conn c 100;\nproxy_read_timeout 30s;\n".replace(
            "limit_conn c", "limit_conn sharestack_conn"
        )
    )
    _lift_per_ip_limits(tmp_path)
    assert (conf / "limits.conf").read_text().count("rate=1000000r/s") == 2
    app = (conf / "app.conf").read_text()
    assert "burst=100000" in app
    assert "limit_conn sharestack_conn 60000;" in app
    assert "proxy_read_timeout 30s;" in app
