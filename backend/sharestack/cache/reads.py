"""What a cached read needs, in one value: the cache, the read routing and the caller's own read
position. Domain code gives it a key and a function of a read session; where that session reads
from is decided here, from the entry's generation (see ``cache/aside``) or, when nothing will be
stored, from the caller's position (``sharestack.db.routing``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sharestack.cache.aside import CacheAside
from sharestack.cache.keys import CacheKey
from sharestack.db.routing import ReadRouting
from sharestack.db.session import ReadSession

Fill = Callable[[ReadSession], Awaitable[bytes | None]]


@dataclass(frozen=True)
class CachedReads:
    cache: CacheAside
    routing: ReadRouting
    # What the caller's own reads must have seen (their read-your-writes token), if anything.
    caller_position: str | None = None
    # Whether the in-process L1 may answer (``cache/local``): for anonymous callers only.
    local: bool = False

    @property
    def prefix(self) -> str:
        return self.cache.prefix

    async def get(self, key: CacheKey, fill: Fill) -> bytes | None:
        """The cached bytes for ``key``, filled by ``fill(session)`` on a miss."""

        async def load(position: str | None) -> bytes | None:
            async with self.routing.reading(position) as session:
                return await fill(session)

        return await self.cache.get_or_load(key, load, self.caller_position, local=self.local)
