"""Jobs that many writes ask for and one run serves: coalesced rather than queued per write.

Every publication asks for its author's feed and its tags' feeds to be warmed; a burst of
publications asks for the same few feeds over and over. One queued job per write costs the queue
Redis about fifteen commands (the enqueue script, the dequeue, the status updates) before the job
does anything, and then warms the same entries again. Instead a write *notes* members (strings
the job understands, e.g. which feed) during its transaction with :func:`request`; after the
commit the :class:`Coalescer` adds them to a pending set on the queue Redis and queues a job only
when none is pending already (a marker taken with ``SET NX``): two commands per write, in one
round trip. The job runs ``window`` seconds later and takes, with :func:`take`, every member
noted meanwhile: a second of publications costs one job, and a feed noted a hundred times is
warmed once.

Guarantees:

- A rolled-back transaction adds nothing (the notes ride on the session and a rollback drops
  them, like cache invalidations: ``sharestack.db.after_commit``).
- Every member added is taken by a job that starts after it was added: :func:`take` deletes the
  marker *before* it pops the members, so a member added after the pop finds no marker and
  queues a job of its own.
- Not durable, unlike the outbox (``jobs/outbox.py``): a process that dies between its commit
  and the ``SADD`` loses its members, and a job that fails after its pop loses them too. Use it
  only for work that may be skipped (a cache warm-up: the first reader fills the entry anyway).
  A job lost altogether holds the marker, so new members wait at most ``MARKER_TTL`` for theirs.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from sharestack.db.after_commit import NOTE_PREFIX
from sharestack.jobs import registry

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from sharestack.cache.redis import RedisRoles
    from sharestack.db.session import WriteSession
    from sharestack.jobs.queue import JobQueue

_NOTE = NOTE_PREFIX + "coalesced"
# How long members gather before their job runs (SAQ schedules in whole seconds).
WINDOW = 1.0
# A marker outlives any job that is still going to run; past it, a lost job is replaced.
MARKER_TTL = 60
# Members taken per pop; a job loops while it gets full batches.
TAKE = 1000


def request(session: WriteSession, function: str, *members: str) -> None:
    """Ask for ``function`` to run, soon after this session's transaction commits, for
    ``members`` and whatever other writes ask for meanwhile."""
    registry.get(function)  # an unknown job name fails in the request, not in the worker
    noted: dict[str, set[str]] = session.info.setdefault(_NOTE, {})
    noted.setdefault(function, set()).update(members)


def _pending(roles: RedisRoles, function: str) -> str:
    return roles.key("q", "coalesced", function, "pending")


def _marker(roles: RedisRoles, function: str) -> str:
    return roles.key("q", "coalesced", function, "queued")


async def take(roles: RedisRoles, function: str) -> list[str]:
    """Every member pending for ``function`` (called by its job), removed from the set."""
    redis: Redis = roles.queue
    taken: list[str] = []
    async with redis.pipeline(transaction=False) as pipe:
        pipe.delete(_marker(roles, function))  # first: see the module docstring
        pipe.spop(_pending(roles, function), TAKE)
        _, popped = await pipe.execute()
    while True:
        batch = [m.decode() if isinstance(m, bytes) else str(m) for m in popped or ()]
        taken.extend(batch)
        if len(batch) < TAKE:
            return sorted(taken)
        popped = await redis.spop(_pending(roles, function), TAKE)


class Coalescer:
    """The API's share: after each commit, the noted members go to the pending sets and, when
    none is queued yet, a job is queued ``window`` seconds ahead."""

    def __init__(self, roles: RedisRoles, queue: JobQueue, window: float = WINDOW) -> None:
        self.roles = roles
        self.queue = queue
        self.window = window

    async def after_commit(self, session: WriteSession, _position: str | None) -> None:
        noted: dict[str, set[str]] | None = session.info.pop(_NOTE, None)
        for function, members in (noted or {}).items():
            await self.add(function, members)

    async def add(self, function: str, members: set[str]) -> None:
        if not members:
            return
        async with self.roles.queue.pipeline(transaction=False) as pipe:
            pipe.sadd(_pending(self.roles, function), *sorted(members))
            pipe.set(_marker(self.roles, function), b"1", nx=True, ex=MARKER_TTL)
            _, first = await pipe.execute()
        if first:
            key = f"coalesced:{function}:{secrets.token_hex(8)}"
            await self.queue.enqueue(function, key, {}, delay=self.window)
