"""Helpers for migration files that must behave the same on every database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import op


@contextmanager
def foreign_keys_off_on_sqlite() -> Iterator[None]:
    """SQLite changes a column by rebuilding the table (batch mode), and dropping the old table
    with foreign keys on would cascade-delete every row that references it (for ``users``:
    profiles, credentials, content...). The pragma is ignored inside a transaction, so the one
    in progress is ended first. MySQL and MariaDB alter in place: nothing to do."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    bind.commit()
    bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        yield
        bind.commit()
    finally:
        bind.exec_driver_sql("PRAGMA foreign_keys=ON")
