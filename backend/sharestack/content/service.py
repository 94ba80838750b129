"""Content: drafts, versions, publication, reading and feeds. The rules of who sees and who
changes what are in ``content/rules.py``; cached reads of published items in ``content/cached.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sharestack.cache.reads import CachedReads
from sharestack.content import cache_scopes, repository
from sharestack.content.exceptions import ContentNotFound, TagNotFound, VersionNotFound
from sharestack.content.models import Content, ContentVersion, Tag
from sharestack.content.repository import Tagged
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
from sharestack.pagination import Cursors, Position
from sharestack.subscriptions import service as subscriptions_service
from sharestack.text import canonical_slug


async def _set_tags(
    session: WriteSession, content: Content, names: Sequence[str], current: Sequence[Tag]
) -> list[Tag]:
    by_slug: dict[str, str] = {}
    for name in names:
        by_slug.setdefault(tag_slug(name), name)
    tags = await repository.ensure_tags(session, by_slug)
    await repository.set_tags(session, content, tags, current)
    return sorted(tags, key=lambda tag: tag.name)


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


def _as_written(content: Content, tags: Sequence[Tag]) -> ContentRead:
    """A changed item as its author sees it, from what the request already holds: the write
    paths never read back what they just wrote."""
    return _as_read(content, [tag.name for tag in tags], withheld=False)


async def create(session: WriteSession, author_id: int, data: ContentCreate) -> ContentRead:
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
    tags = await _set_tags(session, content, data.tags, current=[])
    # No cache entry changes: a draft is in no feed, and a reader's cached "not found" for its id
    # or slug stays true (only its author sees it, and a signed-in caller's "not found" falls
    # through to the database: content/cached.py). Publishing invalidates those entries.
    return _as_written(content, tags)


async def get_for_author(
    session: WriteSession, content_id: int, user_id: int, *, if_match: str | None = None
) -> Tagged:
    """The item and its tag names, locked for a change by ``user_id`` (``SELECT ... FOR
    UPDATE``, one statement): 404 for someone else's draft or an item deleted meanwhile, 403 for
    someone else's published item, 412 when ``If-Match`` names another version. The lock
    serialises concurrent changes of one item, so each gets its own consecutive version, and a
    change racing a delete finds nothing (404)."""
    found = await repository.get_for_update(session, content_id)
    if found is None:
        raise ContentNotFound()
    content = found[0]
    ensure_author(content.status, content.author_id, user_id)
    ensure_version(content.version, if_match)
    return found


def _tag_slugs(names: Sequence[str]) -> list[str]:
    return [tag_slug(name) for name in names]


async def update(
    session: WriteSession, item: Tagged, editor_id: int, changes: ContentUpdate
) -> ContentRead:
    content, names_before = item
    cache_scopes.track(session, content, _tag_slugs(names_before))  # where it appears before
    data = changes.model_dump(exclude_unset=True, exclude_none=True)
    names = data.pop("tags", None)
    written = data.pop("excerpt", None)
    if written is None and excerpt_was_written(content.excerpt, content.body):
        written = content.excerpt
    for field, value in data.items():
        setattr(content, field, value)
    content.excerpt = excerpt_for(content.visibility, content.body, written)
    content.version += 1
    content.updated_at = utcnow()
    await repository.add(session, _snapshot(content, editor_id))
    tag_names = names_before
    if names is not None:
        # The tags' ids (which rows to delete) only when they change.
        current = await repository.tags_of(session, content.id)
        tag_names = [tag.name for tag in await _set_tags(session, content, names, current)]
    cache_scopes.track(session, content, _tag_slugs(tag_names))  # and where it appears after
    return _as_read(content, tag_names, withheld=False)


async def _set_status(session: WriteSession, item: Tagged, status: str) -> ContentRead:
    content, names = item
    if content.status != status:
        content.status = status
        content.published_at = utcnow() if status == "published" else None
        await session.flush()
        if names:
            await repository.sync_tag_publication(session, content)
        slugs = _tag_slugs(names)
        cache_scopes.track(session, content, slugs)
        if status == "published":
            # The feeds a reader opens next, refilled soon after the commit by one job for all
            # the publications of that moment (content/jobs.py). The item itself is filled by
            # its first reader: one primary-key read, not worth a job per publication.
            cache_scopes.warm_feeds(session, content.author_id, slugs)
    return _as_read(content, names, withheld=False)


async def publish(session: WriteSession, item: Tagged) -> ContentRead:
    return await _set_status(session, item, "published")


async def unpublish(session: WriteSession, item: Tagged) -> ContentRead:
    return await _set_status(session, item, "draft")


async def delete(session: WriteSession, item: Tagged) -> None:
    content, names = item
    cache_scopes.track(session, content, _tag_slugs(names))
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
    tagged: Tagged,
    viewer_id: int | None,
    reads: CachedReads | None = None,
) -> ContentRead:
    """The item as ``viewer_id`` may see it (the body withheld from non-subscribers)."""
    content, tags = tagged
    has_access = await viewer_has_access(
        session, content.visibility, content.author_id, viewer_id, reads
    )
    withheld = withholds_body(content.visibility, content.author_id, viewer_id, has_access)
    return _as_read(content, tags, withheld)


def _visible_tagged(tagged: Tagged | None, viewer_id: int | None) -> Tagged:
    _visible(tagged[0] if tagged else None, viewer_id)
    assert tagged is not None
    return tagged


async def read_by_id(
    session: ReadSession,
    content_id: int,
    viewer_id: int | None,
    reads: CachedReads | None = None,
) -> ContentRead:
    tagged = _visible_tagged(await repository.get_tagged(session, content_id), viewer_id)
    return await present(session, tagged, viewer_id, reads)


async def read_by_slug(
    session: ReadSession, slug: str, viewer_id: int | None, reads: CachedReads | None = None
) -> ContentRead:
    found = await repository.get_tagged_by_slug(session, canonical_slug(slug))
    return await present(session, _visible_tagged(found, viewer_id), viewer_id, reads)


def _feed_page(cursors: Cursors, rows: Sequence[Tagged], limit: int) -> Page[ContentTeaser]:
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    last = rows[-1][0] if rows else None
    if has_more and last is not None and last.published_at is not None:
        next_cursor = cursors.encode(Position(last.published_at, last.id))
    items = [ContentTeaser(**_teaser_fields(c, tags)) for c, tags in rows]
    return Page[ContentTeaser](items=items, next_cursor=next_cursor)


async def creator_feed(
    session: ReadSession, cursors: Cursors, author_id: int, after: Position | None, limit: int
) -> Page[ContentTeaser]:
    rows = await repository.creator_feed(session, author_id, after, limit + 1)
    return _feed_page(cursors, rows, limit)


async def tag_feed(
    session: ReadSession, cursors: Cursors, slug: str, after: Position | None, limit: int
) -> Page[ContentTeaser]:
    tag = await repository.get_tag(session, tag_slug(slug))
    if tag is None:
        raise TagNotFound()
    rows = await repository.tag_feed(session, tag.id, after, limit + 1)
    return _feed_page(cursors, rows, limit)


async def author_items(
    session: ReadSession, cursors: Cursors, author_id: int, cursor: str | None, limit: int
) -> Page[ContentRead]:
    after = cursors.decode_optional(cursor)
    before = after.id if after else None
    rows = await repository.author_items(session, author_id, before, limit + 1)
    # The author sees every body of their own; the tags come in the same statement.
    page = [_as_read(c, tags, withheld=False) for c, tags in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1][0]
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
    """Every item of the author with its body and tags (data export): one query per 200 items."""
    out: list[ContentRead] = []
    before: int | None = None
    while True:
        items = await repository.author_items(session, author_id, before, EXPORT_BATCH)
        out.extend(_as_read(content, tags, withheld=False) for content, tags in items)
        if len(items) < EXPORT_BATCH:
            return out
        before = items[-1][0].id


async def erase_author(session: WriteSession, author_id: int) -> int:
    """Account deletion: the author's items go, with their versions and tags (the database
    cascades); their cached pages are dropped after the commit. Returns how many went."""
    erased = 0
    while items := await repository.author_items(session, author_id, None, EXPORT_BATCH):
        for tagged in items:
            await delete(session, tagged)
        erased += len(items)
    return erased
