"""How late the API's event loop wakes up: ``sharestack_event_loop_lag_seconds``.

Every request of a process shares one event loop, so CPU work that holds it (serialising a big
page, a synchronous call, a long GC pass) delays every other request's next step. Request latency
shows that only mixed with network and database time; this shows it alone. A background task asks
to sleep ``interval`` seconds and records how much later than that it woke: near zero on an idle
or healthy loop, the length of the queue of ready callbacks on a saturated one.
"""

from __future__ import annotations

import asyncio

from prometheus_client import Histogram

from sharestack.metrics.registry import REGISTRY

# 20 wake-ups per second: enough samples for a p99 over a few seconds, a negligible cost.
DEFAULT_INTERVAL = 0.05

_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5)

EVENT_LOOP_LAG = Histogram(
    "sharestack_event_loop_lag_seconds",
    "How much later than asked a periodic asyncio.sleep woke up (event-loop scheduling delay)",
    buckets=_BUCKETS,
    registry=REGISTRY,
)


async def watch_event_loop_lag(
    interval: float = DEFAULT_INTERVAL, histogram: Histogram = EVENT_LOOP_LAG
) -> None:
    """Run until cancelled (``sharestack.background.cancel_and_wait``)."""
    loop = asyncio.get_running_loop()
    while True:
        asked = loop.time() + interval
        await asyncio.sleep(interval)
        histogram.observe(max(0.0, loop.time() - asked))
