"""Write paths note which cache scopes they touched; the cache drops them after the commit.

A service calls ``note(session, keys.scope_...)`` while it changes data. Nothing reaches Redis
during the transaction: a rollback discards the notes, a commit hands them to
``CacheAside.invalidate_scopes`` through the after-commit hook, before the response is sent,
together with the database position a fill must have seen (``sharestack.db.routing``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sharestack.db.after_commit import NOTE_PREFIX, AfterCommitHook

if TYPE_CHECKING:
    from sharestack.cache.aside import CacheAside
    from sharestack.db.session import WriteSession

_NOTE = NOTE_PREFIX + "cache_scopes"


def note(session: WriteSession, *scopes: str) -> None:
    noted: set[str] = session.info.setdefault(_NOTE, set())
    noted.update(scopes)


def after_commit_hook(cache: CacheAside) -> AfterCommitHook:
    async def invalidate_cache(session: WriteSession, position: str | None) -> None:
        scopes: set[str] | None = session.info.pop(_NOTE, None)
        if scopes:
            await cache.invalidate_scopes(scopes, position)

    return invalidate_cache
