"""Background loops owned by the application (replica monitor, outbox relay, Sentinel watcher).

Not to be confused with jobs (`sharestack.jobs`), which run in the worker."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel a background loop and wait until it has finished unwinding."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
