"""Content: drafts, versions, publication, reading and feeds. The rules of who sees and who
changes what are in ``content/rules.py``; cached reads of published items in ``content/cached.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sharestack.cache.reads import CachedReads
from sharestack.content import cache_scopes, repository
from sharestack.content.exceptions import ContentNotFound, TagNotFound, VersionNotFound
from sharestack.content.models import Content, ContentVersion
from sharestack.content.rules import (
    ensure_author,
    ensure_version,
    excerpt_for,
    excerpt_was_written,
    is_visible,
    make_slug,
    needs_access_check,
    tag_slug,
    withholds_body,
)
from sharestack.content.schemas import (
    ContentCreate,
    ContentRead,
    ContentTeaser,
    ContentUpdate,
    ContentVersionRead,
    ContentVersionSummary,
    Page,
)
from sharestack.db.base import utcnow
from sharestack.db.session import ReadSession, WriteSession
from sharestack.jobs import outbox
from sharestack.pagination import Cursors, Position
from sharestack.subscriptions import service as subscriptions_service
from sharestack.text import canonical_slug


async def _set_tags(session: WriteSession, content: Content, names: Sequence[str]) -> None:
    by_slug: dict[str, str] = {}
    for name in names:
        by_slug.setdefault(tag_slug(name), name)
    tags = await repository.ensure_tags(session, by_slug)
    await repository.set_tags(session, content, tags)


def _snapshot(content: Content, editor_id: int) -> ContentVersion:
    return ContentVersion(
        content_id=content.id,
        version=content.version,
        editor_id=editor_id,
        title=content.title,
        excerpt=content.excerpt,
        body=content.body,
        visibility=content.visibility,
    )


async def create(session: WriteSession, author_id: int, data: ContentCreate) -> Content:
    content = Content(
        author_id=author_id,
        slug=make_slug(data.title),
        title=data.title,
        body=data.body,
        excerpt=excerpt_for(data.visibility, data.body, data.excerpt),
        visibility=data.visibility,
        status="draft",
        version=1,
    )
    await repository.add(session, content)
    await repository.add(session, _snapshot(content, author_id))
    await _set_tags(session, content, data.tags)
    # Nothing public yet, but a reader may have cached "not found" for this id or slug.
    await cache_scopes.track(session, content)
    return content


async def get_for_author(
    session: WriteSession, content_id: int, user_id: int, *, if_match: str | None = None
) -> Content:
    """The item, locked for a change by ``user_id`` (``SELECT ... FOR UPDATE``): 404 for someone
    else's draft or an item deleted meanwhile, 403 for someone else's published item, 412 when
    ``If-Match`` names another version. The lock serialises concurrent changes of one item, so
    each gets its own consecutive version, and a change racing a delete finds nothing (404)."""
    content = await repository.get_for_update(session, content_id)
    if content is None:
        raise ContentNotFound()
    ensure_author(content.status, content.author_id, user_id)
    ensure_version(content.version, if_match)
    return content


async def update(
    session: WriteSession, content: Content, editor_id: int, changes: ContentUpdate
) -> Content:
    await cache_scopes.track(session, content)  # where it appears before the change
    data = changes.model_dump(exclude_unset=True, exclude_none=True)
    tags = data.pop("tags", None)
    written = data.pop("excerpt", None)
    if written is None and excerpt_was_written(content.excerpt, content.body):
        written = content.excerpt
    for field, value in data.items():
        setattr(content, field, value)
    content.excerpt = excerpt_for(content.visibility, content.body, written)
    content.version += 1
    content.updated_at = utcnow()
    await repository.add(session, _snapshot(content, editor_id))
    if tags is not None:
        await _set_tags(session, content, tags)
    await cache_scopes.track(session, content)  # and where it appears after
    return content


async def publish(session: WriteSession, content: Content) -> Content:
    if content.status != "published":
        content.status = "published"
        content.published_at = utcnow()
        await session.flush()
        await repository.sync_tag_publication(session, content)
        await cache_scopes.track(session, content)
        # Warm the cache once the publication has committed (the outbox runs it after commit).
        await outbox.enqueue(session, "warm_content_cache", content_id=content.id)
    return content


async def unpublish(session: WriteSession, content: Content) -> Content:
    if content.status != "draft":
        content.status = "draft"
        content.published_at = None
        await session.flush()
        await repository.sync_tag_publication(session, content)
        await cache_scopes.track(session, content)
    return content


async def delete(session: WriteSession, content: Content) -> None:
    await cache_scopes.track(session, content)
    await repository.delete(session, content)


def _visible(content: Content | None, viewer_id: int | None) -> Content:
    if content is None or not is_visible(content.status, content.author_id, viewer_id):
        raise ContentNotFound()
    return content


def _teaser_fields(content: Content, tags: list[str]) -> dict[str, Any]:
    """What anyone may see of an item: the fields ``ContentTeaser`` and ``ContentRead`` share."""
    return {
        "id": content.id,
        "slug": content.slug,
        "title": content.title,
        "excerpt": content.excerpt,
        "author_id": content.author_id,
        "visibility": content.visibility,
        "tags": tags,
        "published_at": content.published_at,
    }


async def viewer_has_access(
    session: ReadSession,
    visibility: str,
    author_id: int,
    viewer_id: int | None,
    reads: CachedReads | None = None,
) -> bool:
    """The subscription answer :func:`rules.withholds_body` needs (asked only when it matters).
    With ``reads``, from the entitlement cache, which a payment confirmed by a job invalidates
    with that job's commit position (no stale denial, even from a replica); without, through
    ``session``."""
    if viewer_id is None or not needs_access_check(visibility, author_id, viewer_id):
        return False
    if reads is not None:
        return await subscriptions_service.has_access_cached(reads, viewer_id, author_id)
    return await subscriptions_service.has_access(session, viewer_id, author_id)


def _as_read(content: Content, tags: list[str], withheld: bool) -> ContentRead:
    return ContentRead(
        **_teaser_fields(content, tags),
        status=content.status,
        version=content.version,
        body=None if withheld else content.body,
        body_withheld=withheld,
        created_at=content.created_at,
        updated_at=content.updated_at,
    )


async def present(
    session: ReadSession,
    content: Content,
    viewer_id: int | None,
    reads: CachedReads | None = None,
) -> ContentRead:
    """The item as ``viewer_id`` may see it (the body withheld from non-subscribers)."""
    has_access = await viewer_has_access(
        session, content.visibility, content.author_id, viewer_id, reads
    )
    withheld = withholds_body(content.visibility, content.author_id, viewer_id, has_access)
    tags = await repository.tag_names(session, [content.id])
    return _as_read(content, tags.get(content.id, []), withheld)


async def read_by_id(
    session: ReadSession,
    content_id: int,
    viewer_id: int | None,
    reads: CachedReads | None = None,
) -> ContentRead:
    content = _visible(await repository.get(session, content_id), viewer_id)
    return await present(session, content, viewer_id, reads)


async def read_by_slug(
    session: ReadSession, slug: str, viewer_id: int | None, reads: CachedReads | None = None
) -> ContentRead:
    content = _visible(await repository.get_by_slug(session, canonical_slug(slug)), viewer_id)
    return await present(session, content, viewer_id, reads)


async def _teasers(session: ReadSession, items: Sequence[Content]) -> list[ContentTeaser]:
    tags = await repository.tag_names(session, [c.id for c in items])
    return [ContentTeaser(**_teaser_fields(c, tags.get(c.id, []))) for c in items]


async def _feed_page(
    session: ReadSession, cursors: Cursors, items: Sequence[Content], limit: int
) -> Page[ContentTeaser]:
    has_more = len(items) > limit
    items = items[:limit]
    next_cursor = None
    if has_more and items and items[-1].published_at is not None:
        next_cursor = cursors.encode(Position(items[-1].published_at, items[-1].id))
    return Page[ContentTeaser](items=await _teasers(session, items), next_cursor=next_cursor)


async def creator_feed(
    session: ReadSession, cursors: Cursors, author_id: int, after: Position | None, limit: int
) -> Page[ContentTeaser]:
    items = await repository.creator_feed(session, author_id, after, limit + 1)
    return await _feed_page(session, cursors, items, limit)


async def tag_feed(
    session: ReadSession, cursors: Cursors, slug: str, after: Position | None, limit: int
) -> Page[ContentTeaser]:
    tag = await repository.get_tag(session, tag_slug(slug))
    if tag is None:
        raise TagNotFound()
    items = await repository.tag_feed(session, tag.id, after, limit + 1)
    return await _feed_page(session, cursors, items, limit)


async def author_items(
    session: ReadSession, cursors: Cursors, author_id: int, cursor: str | None, limit: int
) -> Page[ContentRead]:
    after = cursors.decode_optional(cursor)
    before = after.id if after else None
    items = await repository.author_items(session, author_id, before, limit + 1)
    # The author sees every body of their own; one tag query for the whole page.
    tags = await repository.tag_names(session, [c.id for c in items[:limit]])
    page = [_as_read(c, tags.get(c.id, []), withheld=False) for c in items[:limit]]
    next_cursor = None
    if len(items) > limit:
        last = items[limit - 1]
        next_cursor = cursors.encode(Position(last.created_at, last.id))
    return Page[ContentRead](items=page, next_cursor=next_cursor)


async def versions(
    session: WriteSession,
    cursors: Cursors,
    content_id: int,
    user_id: int,
    cursor: str | None,
    limit: int,
) -> Page[ContentVersionSummary]:
    """The item's history, newest first, without bodies (the author only)."""
    after = cursors.decode_optional(cursor)
    content = await _own(session, content_id, user_id)
    rows = await repository.versions(session, content.id, after.id if after else None, limit + 1)
    items = [ContentVersionSummary.model_validate(v, from_attributes=True) for v in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = cursors.encode(Position(last.created_at, last.version))
    return Page[ContentVersionSummary](items=items, next_cursor=next_cursor)


async def version(
    session: WriteSession, content_id: int, user_id: int, number: int
) -> ContentVersionRead:
    """One saved version, body included (the author only)."""
    content = await _own(session, content_id, user_id)
    v = await repository.version(session, content.id, number)
    if v is None:
        raise VersionNotFound()
    return ContentVersionRead.model_validate(v, from_attributes=True)


async def _own(session: WriteSession, content_id: int, user_id: int) -> Content:
    content = await repository.get(session, content_id)
    if content is None:
        raise ContentNotFound()
    ensure_author(content.status, content.author_id, user_id)
    return content


EXPORT_BATCH = 200


async def all_for_author(session: ReadSession, author_id: int) -> list[ContentRead]:
    """Every item of the author with its body (data export): two queries per 200 items."""
    out: list[ContentRead] = []
    before: int | None = None
    while True:
        items = await repository.author_items(session, author_id, before, EXPORT_BATCH)
        tags = await repository.tag_names(session, [c.id for c in items])
        out.extend(_as_read(c, tags.get(c.id, []), withheld=False) for c in items)
        if len(items) < EXPORT_BATCH:
            return out
        before = items[-1].id


async def erase_author(session: WriteSession, author_id: int) -> int:
    """Account deletion: the author's items go, with their versions and tags (the database
    cascades); their cached pages are dropped after the commit. Returns how many went."""
    erased = 0
    while items := await repository.author_items(session, author_id, None, EXPORT_BATCH):
        for content in items:
            await delete(session, content)
        erased += len(items)
    return erased
