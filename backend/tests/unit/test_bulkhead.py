"""The bulkhead: bounded threads, bounded waiters, refusals at once, no work for a gone client."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from sharestack.bulkhead import Bulkhead, ClientGone, Overloaded, watch_client


def _blocking(release: threading.Event, ran: list[int]) -> int:
    ran.append(1)
    release.wait(5)
    return 42


async def test_past_workers_and_waiters_the_answer_is_an_immediate_503() -> None:
    bulkhead = Bulkhead("t", workers=1, waiters=1, max_wait=5)
    release, ran = threading.Event(), []
    running = asyncio.create_task(bulkhead.run(_blocking, release, ran))
    waiting = asyncio.create_task(bulkhead.run(_blocking, release, ran))
    await asyncio.sleep(0.05)
    assert bulkhead.admitted == 2
    started = time.perf_counter()
    with pytest.raises(Overloaded) as refused:
        await bulkhead.run(_blocking, release, ran)
    assert time.perf_counter() - started < 0.05
    assert refused.value.status_code == 503
    assert refused.value.headers is not None
    assert int(refused.value.headers["Retry-After"]) >= 1
    release.set()
    assert await asyncio.gather(running, waiting) == [42, 42]
    assert len(ran) == 2
    assert bulkhead.admitted == 0
    bulkhead.close()


async def test_a_waiter_that_waits_too_long_is_refused_without_running() -> None:
    bulkhead = Bulkhead("t", workers=1, waiters=5, max_wait=0.1)
    release, ran = threading.Event(), []
    running = asyncio.create_task(bulkhead.run(_blocking, release, ran))
    await asyncio.sleep(0.02)
    with pytest.raises(Overloaded):
        await bulkhead.run(_blocking, release, ran)
    assert len(ran) == 1
    release.set()
    assert await running == 42
    bulkhead.close()


async def test_work_for_a_disconnected_client_is_never_started() -> None:
    bulkhead = Bulkhead("t", workers=1, waiters=5, max_wait=5)
    release, ran = threading.Event(), []
    running = asyncio.create_task(bulkhead.run(_blocking, release, ran))
    await asyncio.sleep(0.02)
    gone = False

    async def is_disconnected() -> bool:
        return gone

    async def request() -> int:
        watch_client(is_disconnected)  # per task, as per request
        return await bulkhead.run(_blocking, release, ran)

    waiting = asyncio.create_task(request())
    await asyncio.sleep(0.02)
    gone = True  # the client hangs up while its hash is queued
    release.set()
    with pytest.raises(ClientGone):
        await waiting
    assert await running == 42
    assert len(ran) == 1
    bulkhead.close()


async def test_at_most_workers_run_at_once() -> None:
    bulkhead = Bulkhead("t", workers=2, waiters=10, max_wait=5)
    active, peak, lock = 0, 0, threading.Lock()

    def work() -> None:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.02)
        with lock:
            active -= 1

    await asyncio.gather(*(bulkhead.run(work) for _ in range(12)))
    assert peak == 2
    bulkhead.close()
