"""Running wrk: one thread, N connections, a Lua scenario script, a fixed duration.

The generator's own CPU is measured from the kernel's accounting of the wrk process
(``wait4``'s rusage), so every figure can be read next to what the load generator took from the
same two cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.processes import require_binary

LUA_DIR = Path(__file__).resolve().parent / "lua"
# Far above any healthy latency here: a request that takes this long is counted as a timeout.
TIMEOUT_SECONDS = 20


@dataclass
class WrkResult:
    requests: int
    duration_s: float
    errors: dict[str, int]
    latency_us: dict[str, float]
    cpu_s: float
    wall_s: float
    output: str

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def cpu_share(self) -> float:
        """The generator's CPU as a share of one core over the run."""
        return self.cpu_s / self.wall_s if self.wall_s else 0.0

    def figures(self) -> dict[str, Any]:
        return {
            "requests": {"value": self.requests, "unit": "requests"},
            "throughput": {"value": round(self.rps, 1), "unit": "requests/s"},
            "errors": {"value": self.errors, "unit": "requests"},
            "wrk_latency": {
                "value": {k: round(v / 1000, 3) for k, v in self.latency_us.items()},
                "unit": "ms",
                "note": "wrk's own figures; coordinated-omission corrected, they overstate stalls",
            },
            "generator_cpu": {"value": round(100 * self.cpu_share, 1), "unit": "% of one core"},
        }


def run_wrk(
    base_url: str,
    script: str,
    connections: int,
    duration_s: float,
    env: dict[str, str],
) -> WrkResult:
    wrk = require_binary("wrk")
    argv = [
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        f"--timeout={TIMEOUT_SECONDS}s",
        "-s",
        str(LUA_DIR / f"{script}.lua"),
        base_url,
    ]
    full_env = {**os.environ, **env, "BENCH_LUA_DIR": str(LUA_DIR), "BENCH_SCRIPT": script}
    started = time.monotonic()
    proc = subprocess.Popen(  # noqa: S603 - wrk from PATH, arguments built here
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=full_env, text=True
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{output}")
    summary = _summary(output)
    errors = {k: int(v) for k, v in summary["errors"].items()}
    return WrkResult(
        requests=int(summary["requests"]),
        duration_s=summary["duration_us"] / 1e6,
        errors=errors,
        latency_us={k: float(v) for k, v in summary["latency_us"].items()},
        cpu_s=usage.ru_utime + usage.ru_stime,
        wall_s=wall,
        output=output,
    )


def _summary(output: str) -> dict[str, Any]:
    for line in output.splitlines():
        if line.startswith("BENCHJSON "):
            data: dict[str, Any] = json.loads(line.removeprefix("BENCHJSON "))
            return data
    raise RuntimeError(f"wrk printed no summary line:\n{output}")
