"""The job functions the worker knows, registered by name with their retry policy.

A job is ``async def name(ctx: Resources, **kwargs) -> None`` decorated with ``@job(...)``, in the
``jobs.py`` of the domain it serves (``content/jobs.py``); kwargs must be JSON values (they are
stored in the outbox table and in Redis). ``sharestack.job_index`` imports every such module, the
way ``sharestack.models`` imports every model: the API and the worker import it at start-up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sharestack.resources import Resources

JobFunction = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class JobSpec:
    name: str
    function: JobFunction
    retries: int
    retry_delay: float
    timeout: int


JOBS: dict[str, JobSpec] = {}


def job(
    *, retries: int = 5, retry_delay: float = 1.0, timeout: int = 60
) -> Callable[[JobFunction], JobFunction]:
    """Register a job. ``retries`` counts attempts in total; the delay doubles after each failure
    (with jitter, capped at 5 minutes) so a job waiting on a recovering dependency backs off."""

    def register(function: JobFunction) -> JobFunction:
        name = function.__name__
        if name in JOBS:
            raise ValueError(f"job {name!r} registered twice")
        JOBS[name] = JobSpec(name, function, retries, retry_delay, timeout)
        return function

    return register


def get(name: str) -> JobSpec:
    try:
        return JOBS[name]
    except KeyError:
        raise LookupError(
            f"unknown job {name!r} (is its module in sharestack.job_index?)"
        ) from None


async def call(ctx: Resources, name: str, kwargs: dict[str, Any]) -> Any:
    return await get(name).function(ctx, **kwargs)
