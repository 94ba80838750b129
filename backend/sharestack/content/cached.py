"""Cached reads of published content, creator feeds and tag feeds: the service's reads behind
the cache (``sharestack.cache``), returning JSON bytes. No HTTP here: the router wraps the bytes.

What is cached is what everyone may see: a published item (stored twice, with and without its
body, so a subscribers-only item can be served to anonymous readers without a query) and feed
pages of teasers. Drafts and missing items are cached as "not found"; a signed-in caller who gets
"not found" falls through to the service, since they may be the draft's author.

On a hit no database session is opened, no model is built, nothing is serialised. The payload
format of an item entry is encoded and decoded here and nowhere else (:class:`CachedItem`), and
every key carries :data:`PAYLOAD_VERSION`, derived from the response schemas.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from pydantic_core import to_json

from sharestack.cache import keys
from sharestack.cache.aside import CacheAside
from sharestack.cache.reads import CachedReads
from sharestack.content import repository, service
from sharestack.content.exceptions import ContentNotFound, TagNotFound
from sharestack.content.repository import Tagged
from sharestack.content.rules import PUBLISHED, etag, tag_slug, withholds_body
from sharestack.content.schemas import ContentRead, ContentTeaser, Page
from sharestack.db.routing import PRIMARY, ReadRouting
from sharestack.db.session import ReadSession
from sharestack.pagination import Cursors
from sharestack.text import canonical_slug

# Bump _FORMAT when the byte layout below changes; schema changes change the version by themselves.
_FORMAT = 3
PAYLOAD_VERSION = keys.payload_version(ContentRead, Page[ContentTeaser], revision=_FORMAT)
_SEPARATOR = b"\x00"  # never inside JSON: orjson/pydantic escape control characters


@dataclass(frozen=True)
class CachedItem:
    """One published item as cached: who wrote it, where it appears, and its two renderings."""

    author_id: int
    slug: str
    tag_slugs: list[str]
    visibility: str
    version: int
    full: bytes  # ContentRead JSON with the body
    withheld: bytes  # ContentRead JSON as a non-subscriber sees it

    def encode(self) -> bytes:
        head = orjson.dumps(
            {
                "a": self.author_id,
                "s": self.slug,
                "t": self.tag_slugs,
                "v": self.visibility,
                "n": self.version,
            }
        )
        return _SEPARATOR.join([head, self.full, self.withheld])

    @classmethod
    def decode(cls, payload: bytes) -> CachedItem:
        head, full, withheld = payload.split(_SEPARATOR, 2)
        meta = orjson.loads(head)
        return cls(meta["a"], meta["s"], meta["t"], meta["v"], meta["n"], full, withheld)

    def served_to(self, viewer_id: int | None, has_access: bool) -> Served:
        """The rendering this viewer gets (``has_access``: their subscription's answer)."""
        if withholds_body(self.visibility, self.author_id, viewer_id, has_access):
            return Served(self.withheld, etag(self.version, withheld=True))
        return Served(self.full, etag(self.version))


@dataclass(frozen=True)
class Served:
    """An item's JSON as one viewer gets it, and its entity tag."""

    body: bytes
    etag: str

    @classmethod
    def of(cls, item: ContentRead) -> Served:
        return cls(to_json(item), etag(item.version, withheld=item.body_withheld))


async def _fill_item(session: ReadSession, tagged: Tagged | None) -> bytes | None:
    """One statement: the item with its tags (``repository.get_tagged``)."""
    if tagged is None or tagged[0].status != PUBLISHED:
        return None
    content = tagged[0]
    # Presented as to its author: the full body; the withheld copy is what non-subscribers get.
    full = await service.present(session, tagged, content.author_id)
    withheld = full.model_copy(update={"body": None, "body_withheld": True})
    return CachedItem(
        author_id=content.author_id,
        slug=content.slug,
        tag_slugs=[tag_slug(name) for name in full.tags],
        visibility=content.visibility,
        version=content.version,
        full=to_json(full),
        withheld=to_json(withheld),
    ).encode()


async def item_by_id(reads: CachedReads, content_id: int) -> CachedItem | None:
    """The published item, from the cache or filled; None when it is not published."""

    async def fill(session: ReadSession) -> bytes | None:
        return await _fill_item(session, await repository.get_tagged(session, content_id))

    key = keys.content_by_id(reads.prefix, content_id, PAYLOAD_VERSION)
    payload = await reads.get(key, fill)
    return CachedItem.decode(payload) if payload is not None else None


async def item_by_slug(reads: CachedReads, slug: str) -> CachedItem | None:
    """By any spelling of the slug: the key and the query use its canonical form."""
    slug = canonical_slug(slug)

    async def fill(session: ReadSession) -> bytes | None:
        return await _fill_item(session, await repository.get_tagged_by_slug(session, slug))

    payload = await reads.get(keys.content_by_slug(reads.prefix, slug, PAYLOAD_VERSION), fill)
    return CachedItem.decode(payload) if payload is not None else None


async def _serve(
    item: CachedItem | None, reads: CachedReads, session: ReadSession, viewer_id: int | None
) -> Served | None:
    """The JSON this viewer gets for a cached item, or None when the service must answer (a
    signed-in caller may be the author of a draft)."""
    if item is None:
        if viewer_id is None:
            raise ContentNotFound()
        return None
    has_access = await service.viewer_has_access(
        session, item.visibility, item.author_id, viewer_id, reads
    )
    return item.served_to(viewer_id, has_access)


async def read_by_id(
    reads: CachedReads, session: ReadSession, content_id: int, viewer_id: int | None
) -> Served:
    served = await _serve(await item_by_id(reads, content_id), reads, session, viewer_id)
    if served is not None:
        return served
    return Served.of(await service.read_by_id(session, content_id, viewer_id, reads))


async def read_by_slug(
    reads: CachedReads, session: ReadSession, slug: str, viewer_id: int | None
) -> Served:
    served = await _serve(await item_by_slug(reads, slug), reads, session, viewer_id)
    if served is not None:
        return served
    return Served.of(await service.read_by_slug(session, slug, viewer_id, reads))


# -- warming --------------------------------------------------------------------------------------


async def warm_items(
    cache: CacheAside, routing: ReadRouting, *, limit: int | None = None, batch: int = 500
) -> int:
    """Fill the by-slug entries of published items (``python -m sharestack warm-cache``), oldest
    first, ``batch`` items per round: one statement for their slugs, one for the items with
    their tags, three Redis round trips (``CacheAside.fill_many``: a write that commits
    meanwhile wins). Everything is read from the primary, which has seen every write a
    generation may name. Returns how many entries were stored."""
    after, stored = 0, 0
    while limit is None or stored < limit:
        size = batch if limit is None else min(batch, limit - stored)
        async with routing.reading(PRIMARY) as session:
            found = await repository.published_slugs(session, after, size)
        if not found:
            break
        after = found[-1][0]
        ids = [content_id for content_id, _ in found]

        async def load(ids: list[int] = ids) -> list[bytes | None]:
            async with routing.reading(PRIMARY) as session:
                rows = {t[0].id: t for t in await repository.get_tagged_many(session, ids)}
                return [await _fill_item(session, rows.get(i)) for i in ids]

        cache_keys = [
            keys.content_by_slug(cache.prefix, canonical_slug(slug), PAYLOAD_VERSION)
            for _, slug in found
        ]
        stored += await cache.fill_many(cache_keys, load)
    return stored


# -- feeds -------------------------------------------------------------------------------------


def _page_detail(cursor: str | None, limit: int) -> str:
    return f"c={cursor or ''}&l={limit}"


async def creator_feed_page(
    reads: CachedReads, cursors: Cursors, user_id: int, cursor: str | None, limit: int
) -> bytes:
    after = cursors.decode_optional(cursor)  # a cursor that does not verify never reaches a key

    async def fill(session: ReadSession) -> bytes | None:
        return to_json(await service.creator_feed(session, cursors, user_id, after, limit))

    page = _page_detail(cursor, limit)
    body = await reads.get(keys.creator_feed(reads.prefix, user_id, page, PAYLOAD_VERSION), fill)
    assert body is not None  # a creator feed is never "not found", only empty
    return body


async def tag_feed_page(
    reads: CachedReads, cursors: Cursors, tag: str, cursor: str | None, limit: int
) -> bytes:
    """A tag's feed page by any spelling of its slug; TagNotFound for a tag that does not
    exist."""
    tag = tag_slug(tag)
    after = cursors.decode_optional(cursor)

    async def fill(session: ReadSession) -> bytes | None:
        try:
            return to_json(await service.tag_feed(session, cursors, tag, after, limit))
        except TagNotFound:
            return None

    page = _page_detail(cursor, limit)
    body = await reads.get(keys.tag_feed(reads.prefix, tag, page, PAYLOAD_VERSION), fill)
    if body is None:
        raise TagNotFound()
    return body
