"""The event-loop lag watcher records how late its sleep woke, and nothing when the loop is free."""

from __future__ import annotations

import asyncio
import time

from prometheus_client import CollectorRegistry, Histogram

from sharestack.background import cancel_and_wait
from sharestack.metrics.loop_lag import watch_event_loop_lag


def _figures(registry: CollectorRegistry) -> tuple[float, float]:
    count = registry.get_sample_value("lag_seconds_count") or 0.0
    total = registry.get_sample_value("lag_seconds_sum") or 0.0
    return count, total


async def test_a_blocked_loop_shows_as_lag_and_a_free_one_does_not() -> None:
    registry = CollectorRegistry()
    histogram = Histogram("lag_seconds", "test", buckets=(0.01, 0.1, 1.0), registry=registry)
    task = asyncio.create_task(watch_event_loop_lag(0.01, histogram))
    try:
        await asyncio.sleep(0.1)
        free_count, free_sum = _figures(registry)
        assert free_count >= 3
        assert free_sum / free_count < 0.02  # a free loop wakes (nearly) on time
        time.sleep(0.2)  # noqa: ASYNC251 - holding the loop is the point
        await asyncio.sleep(0.03)
    finally:
        await cancel_and_wait(task)
    count, total = _figures(registry)
    assert count > free_count
    assert total - free_sum >= 0.15  # the sleep that spanned the block woke ~0.19 s late
    assert task.cancelled()
