"""Every Redis key pattern and cache TTL in one place.

Each role gets its own prefix under ``REDIS_KEY_PREFIX`` so that the roles can share one instance
(DB 0..3), move to separate instances, or to Redis Cluster, with no code change. Cache keys put the
invalidation scope in a hash tag (``{content:42}``) so a value and its generation key land on the
same Cluster slot and can be read with one MGET.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Family(StrEnum):
    """Cache key families: hit/miss counters and TTLs are kept per family."""

    CONTENT = "content"
    CREATOR_FEED = "creator_feed"
    TAG_FEED = "tag_feed"
    PROFILE = "profile"


# (fresh TTL seconds, negative TTL seconds). The jitter (±10 %) is applied in CacheAside so that
# keys filled together do not expire together.
TTLS: dict[Family, tuple[int, int]] = {
    Family.CONTENT: (600, 30),
    Family.CREATOR_FEED: (120, 30),
    Family.TAG_FEED: (120, 30),
    Family.PROFILE: (600, 30),
}

# Generation keys outlive every value they guard; losing one only costs misses.
GENERATION_TTL = 86_400
# Single-flight lock: how long a rebuild may hold it before another request may try.
LOCK_TTL_MS = 5_000


@dataclass(frozen=True)
class RolePrefixes:
    sessions: str
    cache: str
    queue: str
    ratelimit: str

    @classmethod
    def from_base(cls, base: str) -> RolePrefixes:
        return cls(
            sessions=f"{base}sess:",
            cache=f"{base}cache:",
            queue=f"{base}q:",
            ratelimit=f"{base}rl:",
        )


@dataclass(frozen=True)
class CacheKey:
    """A cached value's key and the generation key that invalidates it (same hash tag)."""

    family: Family
    value: str
    generation: str
    lock: str


def _key(prefix: str, family: Family, scope: str, detail: str = "") -> CacheKey:
    tag = "{" + scope + "}"
    base = f"{prefix}{tag}"
    suffix = f":{detail}" if detail else ""
    return CacheKey(
        family=family,
        value=f"{base}:v{suffix}",
        generation=f"{base}:gen",
        lock=f"{base}:lock{suffix}",
    )


def content_by_id(prefix: str, content_id: int) -> CacheKey:
    return _key(prefix, Family.CONTENT, f"content:id:{content_id}")


def content_by_slug(prefix: str, slug: str) -> CacheKey:
    return _key(prefix, Family.CONTENT, f"content:slug:{slug}")


def creator_feed(prefix: str, creator_id: int, page: str) -> CacheKey:
    """All pages of one creator's feed share a generation: one INCR invalidates every page."""
    return _key(prefix, Family.CREATOR_FEED, f"feed:creator:{creator_id}", page)


def tag_feed(prefix: str, tag_slug: str, page: str) -> CacheKey:
    return _key(prefix, Family.TAG_FEED, f"feed:tag:{tag_slug}", page)


def profile(prefix: str, user_id: int) -> CacheKey:
    return _key(prefix, Family.PROFILE, f"profile:{user_id}")
