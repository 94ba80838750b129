"""Cached reads of published content, creator feeds and tag feeds (cache-aside, see
``sharestack.cache.aside``), and the notes write paths leave so the right entries are dropped.

What is cached is what everyone may see: a published item (stored twice, with and without its
body, so a subscribers-only item can be served to anonymous readers without a query) and feed
pages of teasers. Drafts and missing items are cached as "not found"; a signed-in caller who gets
"not found" falls through to the service, since they may be the draft's author.

Fills read from a replica that has applied the write that last invalidated the entry, or from the
primary (``sharestack.cache.fill``): a replica that has not yet applied a write would otherwise let
a fill store the pre-write row under the post-write generation.

On a hit the response is the cached bytes as they are: no database session is opened, no model is
built, nothing is serialised.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic_core import to_json
from starlette.requests import Request
from starlette.responses import Response

from sharestack.cache import keys
from sharestack.cache.fill import fill_session
from sharestack.content import repository, service
from sharestack.content.exceptions import ContentNotFound, TagNotFound
from sharestack.content.models import Content
from sharestack.subscriptions import service as subscriptions_service

if TYPE_CHECKING:
    from sharestack.cache.aside import CacheAside
    from sharestack.db.engine import Database
    from sharestack.db.session import ReadSession

_SEPARATOR = b"\x00"  # never inside JSON: orjson/pydantic escape control characters
_PUBLIC = b"P"
_SUBSCRIBERS = b"S"


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


def _cache(request: Request) -> CacheAside:
    cache: CacheAside = request.app.state.cache
    return cache


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


# Each read is split into a fill (cache + primary, no request: the warm-up job calls it too) and
# the serving of what the fill returned.


async def item_by_id(
    cache: CacheAside, db: Database, content_id: int, request: Request | None = None
) -> bytes | None:
    async def load() -> bytes | None:
        async with fill_session(db, request) as session:
            return await _item_payload(await repository.get(session, content_id), session)

    return await cache.get_or_load(keys.content_by_id(cache.prefix, content_id), load)


async def item_by_slug(
    cache: CacheAside, db: Database, slug: str, request: Request | None = None
) -> bytes | None:
    async def load() -> bytes | None:
        async with fill_session(db, request) as session:
            return await _item_payload(await repository.get_by_slug(session, slug), session)

    return await cache.get_or_load(keys.content_by_slug(cache.prefix, slug), load)


async def creator_feed_page(
    cache: CacheAside,
    db: Database,
    user_id: int,
    cursor: str | None,
    limit: int,
    request: Request | None = None,
) -> bytes:
    async def load() -> bytes | None:
        async with fill_session(db, request) as session:
            return to_json(await service.creator_feed(session, user_id, cursor, limit))

    body = await cache.get_or_load(
        keys.creator_feed(cache.prefix, user_id, _page_detail(cursor, limit)), load
    )
    assert body is not None  # a creator feed is never "not found", only empty
    return body


async def tag_feed_page(
    cache: CacheAside,
    db: Database,
    tag: str,
    cursor: str | None,
    limit: int,
    request: Request | None = None,
) -> bytes | None:
    async def load() -> bytes | None:
        async with fill_session(db, request) as session:
            try:
                return to_json(await service.tag_feed(session, tag, cursor, limit))
            except TagNotFound:
                return None

    return await cache.get_or_load(
        keys.tag_feed(cache.prefix, tag, _page_detail(cursor, limit)), load
    )


# -- single items -------------------------------------------------------------------------------


async def _item_payload(content: Content | None, session: ReadSession) -> bytes | None:
    """``P|S <author_id> \\0 full JSON \\0 withheld JSON`` for a published item, else None."""
    if content is None or content.status != "published":
        return None
    # Reading as the author gives the full body; the withheld copy is what non-subscribers get.
    full = await service.read(session, content, content.author_id)
    withheld = full.model_copy(update={"body": None, "body_withheld": True})
    kind = _PUBLIC if content.visibility == "public" else _SUBSCRIBERS
    return b"".join(
        [
            kind,
            str(content.author_id).encode(),
            _SEPARATOR,
            to_json(full),
            _SEPARATOR,
            to_json(withheld),
        ]
    )


async def _serve_item(
    payload: bytes | None, viewer_id: int | None, session: ReadSession
) -> Response | None:
    """The response for a cached item, or None when the caller must go through the service."""
    if payload is None:
        if viewer_id is None:
            raise ContentNotFound()
        return None  # a signed-in caller may be the author of a draft
    head, full, withheld = payload.split(_SEPARATOR, 2)
    if head[:1] == _PUBLIC:
        return _json(full)
    author_id = int(head[1:])
    if viewer_id is None:
        return _json(withheld)
    if viewer_id == author_id or await subscriptions_service.has_access(
        session, viewer_id, author_id
    ):
        return _json(full)
    return _json(withheld)


async def read_by_id(
    request: Request, session: ReadSession, content_id: int, viewer_id: int | None
) -> Response:
    payload = await item_by_id(_cache(request), _db(request), content_id, request)
    served = await _serve_item(payload, viewer_id, session)
    if served is not None:
        return served
    return _json(to_json(await service.read_by_id(session, content_id, viewer_id)))


async def read_by_slug(
    request: Request, session: ReadSession, slug: str, viewer_id: int | None
) -> Response:
    payload = await item_by_slug(_cache(request), _db(request), slug, request)
    served = await _serve_item(payload, viewer_id, session)
    if served is not None:
        return served
    return _json(to_json(await service.read_by_slug(session, slug, viewer_id)))


# -- feeds -------------------------------------------------------------------------------------


def _page_detail(cursor: str | None, limit: int) -> str:
    return f"c={cursor or ''}&l={limit}"


async def creator_feed(request: Request, user_id: int, cursor: str | None, limit: int) -> Response:
    return _json(
        await creator_feed_page(_cache(request), _db(request), user_id, cursor, limit, request)
    )


async def tag_feed(request: Request, slug: str, cursor: str | None, limit: int) -> Response:
    tag = service.tag_slug(slug)
    body = await tag_feed_page(_cache(request), _db(request), tag, cursor, limit, request)
    if body is None:
        raise TagNotFound()
    return _json(body)
