"""Every Redis key pattern and cache TTL in one place.

Each role gets its own prefix under ``REDIS_KEY_PREFIX`` (``RedisRoles.key(role, ...)``:
``ss:sess:``, ``ss:cache:``, ``ss:q:``, ``ss:rl:``) so that the roles can share one instance
(DB 0..3), move to separate instances, or to Redis Cluster, with no code change. Cache keys put
the invalidation scope in a hash tag (``{content:42}``) so a value and its generation key land on
the same Cluster slot and can be read with one MGET.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

import orjson
from pydantic import BaseModel


class Family(StrEnum):
    """Cache key families: hit/miss counters and TTLs are kept per family."""

    CONTENT = "content"
    CREATOR_FEED = "creator_feed"
    TAG_FEED = "tag_feed"
    PROFILE = "profile"
    ENTITLEMENT = "entitlement"


# (fresh TTL seconds, negative TTL seconds). The jitter (±10 %) is applied in CacheAside so that
# keys filled together do not expire together.
TTLS: dict[Family, tuple[int, int]] = {
    # Every write invalidates an item's entries by generation, so the TTL does not bound what a
    # reader sees; it bounds memory (the cache instance evicts the least recently used anyway)
    # and the one staleness nothing else ends: an invalidation a process held back while the
    # cache Redis was unreachable and then died with (cache/aside). 3 h keeps a long tail of
    # Zipf-popular items cached between their reads (a 10-minute TTL expired every item read
    # less than once in ten minutes: a ceiling of about 82 % hits on the bench's mixed load).
    Family.CONTENT: (10_800, 30),
    Family.CREATOR_FEED: (120, 30),
    Family.TAG_FEED: (120, 30),
    Family.PROFILE: (600, 30),
    # A reader's access to a creator: every subscription change invalidates it, and the cached
    # value is an end time compared with the clock on each read, so a TTL only bounds memory.
    Family.ENTITLEMENT: (3600, 60),
}

# Generation keys outlive every value they guard; losing one only costs misses.
GENERATION_TTL = 86_400
# Single-flight lock: how long a rebuild may hold it before another request may try.
LOCK_TTL_MS = 5_000


@dataclass(frozen=True)
class CacheKey:
    """A cached value's key and the generation key that invalidates it (same hash tag)."""

    family: Family
    value: str
    generation: str
    lock: str  # the stem of the rebuild locks: one per generation (``rebuild_lock``)

    def rebuild_lock(self, token: bytes) -> bytes:
        """The single-flight lock of this value under one generation token. Per generation, so a
        successful fill never has to release it (the next generation locks another name) and an
        invalidation never makes the new generation's readers wait for an old rebuild."""
        return self.lock.encode() + b":" + token.partition(b"@")[0]


# -- invalidation scopes: one generation key each ---------------------------------------------


def scope_content_id(content_id: int) -> str:
    return f"content:id:{content_id}"


def scope_content_slug(slug: str) -> str:
    return f"content:slug:{slug}"


def scope_creator_feed(creator_id: int) -> str:
    """All pages of one creator's feed share a generation: one SET invalidates every page."""
    return f"feed:creator:{creator_id}"


def scope_tag_feed(tag_slug: str) -> str:
    return f"feed:tag:{tag_slug}"


def scope_profile(user_id: int) -> str:
    return f"profile:{user_id}"


def scope_entitlement(reader_id: int) -> str:
    """A reader's access to every creator (one entry: any subscription change of theirs)."""
    return f"entitlement:{reader_id}"


def generation_key(prefix: str, scope: str) -> str:
    return f"{prefix}{{{scope}}}:gen"


def l1_channel(prefix: str) -> str:
    """The pub/sub channel of L1 invalidations (``cache/local_sync``). Channels ignore DB
    numbers, so the prefix is what keeps two deployments on one server apart."""
    return f"{prefix}l1:invalidated"


# -- payload versions ---------------------------------------------------------------------------


def payload_version(*models: type[BaseModel], revision: int = 1) -> str:
    """A short digest of the JSON schemas of the response models a cached payload holds, plus
    the revision of the payload's own byte format. Every value key carries it, so a release that
    changes a response schema reads and writes new keys and never serves JSON of the old shape;
    the old entries simply expire. Generation keys carry no version: an invalidation reaches
    every version."""
    schemas = [model.model_json_schema() for model in models]
    digest = hashlib.sha256(orjson.dumps([revision, schemas], option=orjson.OPT_SORT_KEYS))
    return digest.hexdigest()[:10]


# -- cache keys ---------------------------------------------------------------------------------

# How cache/aside lays a value out in Redis (2: payloads from 512 bytes deflated). In the key, so
# that during a rolling deploy each release reads only the values it can decode.
STORAGE_FORMAT = 2


def _key(prefix: str, family: Family, scope: str, version: str, detail: str = "") -> CacheKey:
    base = f"{prefix}{{{scope}}}"
    suffix = f":{detail}" if detail else ""
    return CacheKey(
        family=family,
        value=f"{base}:v{STORAGE_FORMAT}:{version}{suffix}",
        generation=generation_key(prefix, scope),
        lock=f"{base}:lock:{version}{suffix}",
    )


def content_by_id(prefix: str, content_id: int, version: str) -> CacheKey:
    return _key(prefix, Family.CONTENT, scope_content_id(content_id), version)


def content_by_slug(prefix: str, slug: str, version: str) -> CacheKey:
    return _key(prefix, Family.CONTENT, scope_content_slug(slug), version)


def creator_feed(prefix: str, creator_id: int, page: str, version: str) -> CacheKey:
    return _key(prefix, Family.CREATOR_FEED, scope_creator_feed(creator_id), version, page)


def tag_feed(prefix: str, tag_slug: str, page: str, version: str) -> CacheKey:
    return _key(prefix, Family.TAG_FEED, scope_tag_feed(tag_slug), version, page)


def profile(prefix: str, user_id: int, version: str) -> CacheKey:
    return _key(prefix, Family.PROFILE, scope_profile(user_id), version)


def entitlement(prefix: str, reader_id: int, version: str) -> CacheKey:
    return _key(prefix, Family.ENTITLEMENT, scope_entitlement(reader_id), version)
