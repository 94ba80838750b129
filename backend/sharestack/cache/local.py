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
- for everyone else on other processes: the time a message takes over Redis pub/sub. Each write's
  invalidation PUBLISHes the generation keys it changed (one message per write) and every
  process's subscriber drops them (``cache/local_sync``);
- when a message can be lost (the subscription is down, being re-established, or silent for three
  heartbeats): the L1 is suspended (emptied and bypassed) until the subscription is confirmed
  again, and emptied again then. ``ttl`` (``CACHE_L1_TTL_SECONDS``, 5 s by default) stays the
  hard bound for what no one noticed: a connection that died without a sign before the
  heartbeat's three seconds ran out.

Why pub/sub rather than Redis client-side caching (CLIENT TRACKING ... BCAST PREFIX):
- a disconnect is visible in one place. Tracking with RESP2 needs two connections (the tracked
  one and the one its invalidations are redirected to), and when the tracked one drops, tracking
  ends with no message at all to the other; with RESP3 the invalidations arrive as push messages
  on the tracked connection, interleaved with command replies, and are lost with it. A pub/sub
  subscriber is one connection whose failure is an exception and whose return is a ``subscribe``
  confirmation: the two moments the L1 must be suspended and emptied;
- failover and a restarted or replaced cache instance: tracking state lives in the server and
  is lost with it, silently; a subscription is re-made and confirmed (and the L1 emptied) on
  the new server like after any reconnect. Redis Cluster broadcasts PUBLISH to every node, while
  tracking is per node, so the channel keeps working when the cache moves to a cluster;
- eviction: tracking also reports evicted and expired generation keys, which need no L1 drop
  (a lost generation invalidates nothing: readers create a fresh token that matches nothing,
  and the L1 entry holds the value that was current). Pub/sub carries writes only;
- cost: one PUBLISH in the invalidation's pipeline per write, instead of the tracked
  connections' bookkeeping in the server (its tracking table) for every key prefix.
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
        # False while another process's invalidation could be missed (``cache/local_sync``).
        self.live = True

    @property
    def enabled(self) -> bool:
        return self.ttl > 0 and self.max_entries > 0 and self.live

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
        self.epoch += 1
        self._entries.clear()
        self._by_generation.clear()

    def suspend(self) -> None:
        """Invalidations from other processes may be missed from now on: empty and bypassed."""
        self.live = False
        self.clear()

    def resume(self) -> None:
        """Every invalidation is heard again (subscribed): start empty, since some may have been
        missed while suspended."""
        self.clear()
        self.live = True

    def _remove(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        keys = self._by_generation.get(entry[1])
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._by_generation[entry[1]]
