"""The in-process L1 in front of the cache Redis: the hottest entries, for a short time, so a hot
read costs no Redis round trip at all.

What it holds is exactly what Redis holds for a key (the payload accepted under its current
generation, ``cache/aside``): every viewer-specific decision (a withheld body, a subscriber's
access) is still made per request from that payload, so the L1 can serve nothing to a viewer
that Redis would not. Bounded in entries (least recently used goes first) and in age (``ttl``).

Staleness:
- in the process that made a write: none. The after-commit invalidation drops the scopes' entries
  here before the response is sent (``drop``);
- for the writer on any process: none. Only anonymous callers are served from the L1 (a request
  with a bearer token or a session cookie never is, valid or not), and a write needs a session;
- for everyone else on other processes: at most ``ttl`` seconds (1 s by default), after which
  the entry is checked against Redis's generation again.
"""

from __future__ import annotations

import time
from collections import OrderedDict


class LocalCache:
    def __init__(self, *, ttl: float, max_entries: int) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        # key -> (expires at, generation key, payload or None for "not found")
        self._entries: OrderedDict[str, tuple[float, str, bytes | None]] = OrderedDict()
        self._by_generation: dict[str, set[str]] = {}
        # Counts drops: a value read before a drop is not stored after it (see ``put``).
        self.epoch = 0

    @property
    def enabled(self) -> bool:
        return self.ttl > 0 and self.max_entries > 0

    def get(self, key: str) -> tuple[bool, bytes | None]:
        """(found and fresh, payload)."""
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        if entry[0] < time.monotonic():
            self._remove(key)
            return False, None
        self._entries.move_to_end(key)
        return True, entry[2]

    def put(self, key: str, generation: str, payload: bytes | None, epoch: int) -> None:
        """Keep ``payload``, read when :attr:`epoch` was ``epoch``; ignored if a write dropped
        anything since (the value may predate that write)."""
        if not self.enabled or epoch != self.epoch:
            return
        if key in self._entries:
            self._remove(key)
        self._entries[key] = (time.monotonic() + self.ttl, generation, payload)
        self._by_generation.setdefault(generation, set()).add(key)
        while len(self._entries) > self.max_entries:
            self._remove(next(iter(self._entries)))

    def drop(self, generations: set[str]) -> None:
        """Forget every entry of these generations (a write changed them)."""
        self.epoch += 1
        for generation in generations:
            for key in self._by_generation.pop(generation, set()):
                self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()
        self._by_generation.clear()

    def _remove(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        keys = self._by_generation.get(entry[1])
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._by_generation[entry[1]]
