"""Counting what a request costs: SQL statements and Redis commands (like Django's
``assertNumQueries``), for the I/O budget tests.

Statements are counted with SQLAlchemy's ``before_cursor_execute`` engine event, Redis commands by
wrapping redis-py's asyncio ``execute_command`` (one round trip each; a pipeline counts each command
it carries, since Redis executes each one). Only work done in the context of a ``counting()`` block
is counted: the counter lives in a context variable, which the request's tasks inherit and the app's
background loops (started before the block) do not, so the outbox relay or the replica monitor
ticking meanwhile never makes a test flaky.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from redis.asyncio.client import Pipeline, Redis


@dataclass
class Counts:
    statements: list[str] = field(default_factory=list)
    redis: list[str] = field(default_factory=list)

    @property
    def sql(self) -> int:
        return len(self.statements)

    @property
    def commands(self) -> int:
        return len(self.redis)

    def describe(self) -> str:
        sql = "\n  ".join(s.split("\n", 1)[0][:160] for s in self.statements)
        return f"{self.sql} statements:\n  {sql}\n{self.commands} Redis commands: {self.redis}"


_current: ContextVar[Counts | None] = ContextVar("io_counts", default=None)
_installed = False


def _on_statement(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
    counts = _current.get()
    if counts is not None:
        counts.statements.append(statement)


def _install() -> None:
    """Hook SQLAlchemy and redis-py once per process (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", _on_statement)
    original = Redis.execute_command
    original_pipeline = Pipeline.execute

    async def execute_command(self: Redis, *args: Any, **options: Any) -> Any:
        counts = _current.get()
        if counts is not None and not isinstance(self, Pipeline):
            counts.redis.append(str(args[0]))
        return await original(self, *args, **options)

    async def execute(self: Pipeline, raise_on_error: bool = True) -> Any:
        counts = _current.get()
        if counts is not None:
            counts.redis.extend(str(cmd[0][0]) for cmd in self.command_stack)
        return await original_pipeline(self, raise_on_error)

    Redis.execute_command = execute_command  # type: ignore[method-assign]
    Pipeline.execute = execute  # type: ignore[method-assign]


@contextmanager
def counting() -> Iterator[Counts]:
    """Count the statements and Redis commands of the work awaited inside the block."""
    _install()
    counts = Counts()
    token = _current.set(counts)
    try:
        yield counts
    finally:
        _current.reset(token)
