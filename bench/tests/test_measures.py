"""The new figures' arithmetic, without servers: the slow log, the cache's steady state, Redis
attribution and the targets built on them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import report
from bench.observe import LogWindow, attributable_commands, slow_log_times
from bench.scenarios import steady

SLOW_LOG = """\
 Rows_sent: 0  Rows_examined: 0
SET timestamp=1796637390;
SELECT cut_by_the_window_start;
# Time: 260101 12:00:00
# User@Host: sharestack[sharestack] @  [127.0.0.1]
# Thread_id: 6  Schema: sharestack  QC_hit: No
# Query_time: 0.000151  Lock_time: 0.000075  Rows_sent: 1  Rows_examined: 1
# Rows_affected: 0  Bytes_sent: 113
SET timestamp=1796637390;
SELECT * FROM content WHERE slug = 'p-00000001';
# User@Host: [<replication_slave>] @  []
# Thread_id: 8  Schema: sharestack  QC_hit: No
# Query_time: 0.009767  Lock_time: 0.000094  Rows_sent: 0  Rows_examined: 0
use `sharestack`;
CREATE TABLE t (id INT PRIMARY KEY);
# User@Host: admin[admin] @  [127.0.0.1]
# Thread_id: 9  Schema:   QC_hit: No
# Query_time: 0.000051  Lock_time: 0.000000  Rows_sent: 0  Rows_examined: 0
SHOW SLAVE STATUS;
# User@Host: sharestack[sharestack] @  [127.0.0.1]
# Thread_id: 7  Schema: sharestack  QC_hit: No
# Query_time: 0.012000  Lock_time: 0.000000  Rows_sent: 0  Rows_examined: 0
COMMIT;
# User@Host: sharestack[sharestack] @  [127.0.0.1]
# Thread_id: 7  Schema: sharestack  QC_hit: No
"""


def test_slow_log_times_are_the_apps_complete_entries_only() -> None:
    # Not the replication thread's, not the admin's, not the entry cut before its Query_time.
    assert slow_log_times(SLOW_LOG, {"sharestack"}) == [0.000151, 0.012]
    assert slow_log_times(SLOW_LOG, {"admin"}) == [0.000051]
    assert slow_log_times("", {"sharestack"}) == []


def test_a_closed_log_window_ignores_what_is_written_after(tmp_path: Path) -> None:
    log = tmp_path / "slow.log"
    log.write_text("before\n")
    window = LogWindow.mark(log)
    with log.open("a") as f:
        f.write("inside\n")
    window.close()
    with log.open("a") as f:
        f.write("after\n")
    assert window.raw() == b"inside\n"
    assert LogWindow.mark(tmp_path / "missing.log").raw() == b""


@pytest.mark.parametrize(
    ("rates", "expected"),
    [
        ([], False),
        ([50.0, 50.1], False),  # too few rounds to judge
        ([50.0, 80.0, 90.0], False),  # still rising
        ([90.0, 92.0, 92.4], False),  # 2.4 points over two rounds
        ([90.0, 95.0, 95.2, 95.4], True),  # 0.4 point over the last two
        ([93.0, 95.0, 94.0, 94.5], True),  # noise below the best so far is steady
        ([70.0, 74.4, 76.1, 76.6, 74.1], False),  # one dip does not end a rise
    ],
)
def test_steady_state_is_less_than_half_a_point_gained_in_two_rounds(
    rates: list[float], expected: bool
) -> None:
    assert steady(rates) is expected


def test_redis_commands_less_the_idle_baseline_never_go_below_zero() -> None:
    window = {"get": 1000.0, "ping": 12.0, "publish": 4.0, "evalsha": 300.0}
    idle = {"ping": 1.0, "publish": 0.5, "replconf": 1.0, "bzpopmin": 0.2}
    out = attributable_commands(window, idle, seconds=10)
    assert out == {"get": 1000.0, "ping": 2.0, "evalsha": 300.0}


def _p(scenario: str, conns: int, **figures: Any) -> dict[str, Any]:
    point: dict[str, Any] = {
        "scenario": scenario,
        "connections": conns,
        "errors": {"value": {"connect": 0, "status": 0, "timeout": 0}},
        "status_counts": {"value": {"200": 100}},
    }
    for name, value in figures.items():
        point[name] = {"value": value}
    return point


def _status(points: list[dict[str, Any]]) -> dict[str, str]:
    return {t["target"]: t["status"] for t in report.evaluate(points, 100, 10)}


def test_per_request_targets_take_the_worst_point() -> None:
    points = [
        _p("cold", 10, db_statements_per_request=1.0, redis_commands_per_request=3.0),
        _p("cold", 100, db_statements_per_request=1.2, redis_commands_per_request=3.5),
        _p("own-items", 10, db_statements_per_request=3.0),
        _p("own-items", 100, db_statements_per_request=2.0),
        _p("writes", 10, db_statements_per_request=5.5, redis_commands_per_request=9.0),
    ]
    status = _status(points)
    assert status["statements per cold read, worst point"] == "MISS"  # 1.2 at 100
    assert status["Redis commands per cold read, worst point"] == "PASS"
    assert status["statements per list request (own-items), worst point"] == "PASS"
    assert status["statements per write (create, publish), worst point"] == "PASS"
    assert status["Redis commands per write (create, publish), worst point"] == "MISS"
    assert not any("feeds" in name for name in status)  # a scenario that did not run


def test_cached_read_costs_compare_with_the_baseline_of_the_same_run() -> None:
    points = [
        _p("baseline", 100, good_throughput=1000.0, api_cpu_per_request=0.5),
        _p("cached", 100, good_throughput=700.0, api_cpu_per_request=1.1),
        _p("cached", 10, good_throughput=700.0, redis_commands_per_request=0.4),
    ]
    points[1]["redis_commands_per_request"] = {"value": 1.2}
    status = _status(points)
    assert status["cached / baseline throughput @100"] == "PASS"
    assert status["API CPU per cached read / baseline's @100"] == "MISS"  # 2.2 x
    assert status["Redis commands per anonymous cached read, worst point"] == "MISS"


def test_database_pool_and_steady_hit_rate_targets_on_mixed() -> None:
    mixed = _p(
        "mixed",
        100,
        db_time={"p99": 12.0},
        db_server_time={"p99": 4.0},
        db_pool_wait={"p99": 25.0},
        cache={"hit_rate": 93.0},
    )
    targets = report.evaluate([mixed], 100, 10)
    by_rule = {(t["target"], t["rule"]): t["status"] for t in targets}
    assert by_rule[("DB operation p99 @100 (mixed, the database's own)", "< 10 ms")] == "PASS"
    assert by_rule[("pool wait p99 @100 (mixed)", "< 20 ms")] == "MISS"
    hit = "cache hit rate @100 (mixed, after the steady-state warm-up)"
    assert by_rule[(hit, ">= 80 %")] == "PASS"
    assert by_rule[(hit, ">= 95 %")] == "MISS"


def test_shed_log_ins_are_designed_answers_and_the_slowest_must_stay_under_2_s() -> None:
    low = _p("login", 10, good_throughput=40.0, http_latency={"max": 300.0})
    high = _p("login", 100, good_throughput=38.0, http_latency={"max": 2400.0})
    high["status_counts"]["value"] = {"200": 380, "503": 900, "429": 20, "499": 5}
    high["errors"]["value"]["status"] = 919  # wrk counted one answer fewer than nginx
    status = _status([low, high])
    assert status["errors + timeouts, every point"] == "PASS"
    assert status["log-ins/s @100 / @10"] == "PASS"  # 0.95
    assert status["slowest log-in answer @100 (nginx, shed answers included)"] == "MISS"
    high["status_counts"]["value"]["500"] = 1
    assert _status([low, high])["errors + timeouts, every point"] == "MISS"
