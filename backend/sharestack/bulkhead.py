"""A bulkhead for expensive CPU work (password hashing): a fixed number of threads, a bounded
number of waiters, and load shed at once instead of queued.

Why: argon2id costs tens of milliseconds of a core by design. With an unbounded queue, a burst of
log-ins at 100 connections made every request wait behind all the others (past the client's
timeout), and the hashes went on running for clients that had already given up, so no log-in
finished at all. Here a request either gets a thread soon or is answered 503 with ``Retry-After``
immediately:

- at most ``workers`` hashes run at once, in a pool of their own (argon2-cffi releases the GIL,
  so they run in parallel and never block the event loop or the default thread pool);
- at most ``waiters`` more wait, first come first served (``asyncio.Semaphore`` is FIFO); anyone
  past that is refused before waiting at all;
- a waiter that waited ``max_wait`` seconds without getting a thread is refused too (the queue
  moved slower than it should: the machine is saturated), so no request waits without bound;
- just before the work starts, the client's connection is checked (:func:`watch_client`): a hash
  for a client that has gone away is never started.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import TypeVar

from sharestack.errors import AppError
from sharestack.metrics.registry import BULKHEAD_REJECTED

T = TypeVar("T")

# How the current request finds out that its client has disconnected (set per request).
_disconnected: ContextVar[Callable[[], Awaitable[bool]] | None] = ContextVar(
    "bulkhead_client", default=None
)


def watch_client(is_disconnected: Callable[[], Awaitable[bool]]) -> None:
    """Let bulkheads skip this request's work once its client has gone (call per request,
    e.g. with ``Request.is_disconnected``)."""
    _disconnected.set(is_disconnected)


class Overloaded(AppError):
    status_code = 503
    code = "overloaded"
    message = "The server is busy; retry after the time in Retry-After."


class ClientGone(AppError):
    """The client disconnected before its work started. Nobody reads the answer; it is a 503
    like the other refusals, so it is neither logged as a failure nor documented apart."""

    status_code = 503
    code = "client_gone"
    message = "The client disconnected before the work started."


class Bulkhead:
    def __init__(self, name: str, *, workers: int, waiters: int, max_wait: float) -> None:
        self.name = name
        self.workers = workers
        self.waiters = waiters
        self.max_wait = max_wait
        self._slots = asyncio.Semaphore(workers)
        self._admitted = 0  # running + waiting
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._seconds_per_job = 0.05  # moving average of a job's duration, for Retry-After

    @property
    def admitted(self) -> int:
        return self._admitted

    def _refuse(self, reason: str) -> Overloaded:
        BULKHEAD_REJECTED.labels(self.name, reason).inc()
        backlog = max(1, self._admitted - self.workers + 1)
        seconds = math.ceil(backlog * self._seconds_per_job / self.workers)
        return Overloaded(headers={"Retry-After": str(max(1, seconds))})

    def admit(self) -> None:
        """Refuse at once (:class:`Overloaded`) when a job would be refused now: for requests
        to check before any other work (a database read, a rate-limit round trip), so that a
        flood of refused requests costs little. Only a check: :meth:`run` decides again."""
        if self._admitted >= self.workers + self.waiters:
            raise self._refuse("queue_full")

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` in one of the bulkhead's threads; :class:`Overloaded` (503) when the
        queue is full or did not move within ``max_wait``; :class:`ClientGone` when the
        request's client disconnected while it waited."""
        self.admit()
        self._admitted += 1
        try:
            try:
                await asyncio.wait_for(self._slots.acquire(), self.max_wait)
            except TimeoutError:
                raise self._refuse("waited_too_long") from None
            try:
                disconnected = _disconnected.get()
                if disconnected is not None and await disconnected():
                    BULKHEAD_REJECTED.labels(self.name, "client_gone").inc()
                    raise ClientGone()
                started = time.perf_counter()
                result = await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
                elapsed = time.perf_counter() - started
                self._seconds_per_job = 0.8 * self._seconds_per_job + 0.2 * elapsed
                return result
            finally:
                self._slots.release()
        finally:
            self._admitted -= 1

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
