"""Content: drafts, versions, publication, reading and feeds.

Who sees what: a draft exists only for its author (everyone else gets 404, as if it did not
exist); a published item's teaser (title, excerpt, tags) is visible to all; its body is withheld
from non-subscribers when its visibility is ``subscribers``. Only the author edits: others get
403 on a published item and 404 on a draft.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Sequence
from typing import Any

from sharestack.content import cache_scopes, repository
from sharestack.content.exceptions import ContentNotFound, NotAuthor, TagNotFound
from sharestack.content.models import Content, ContentVersion
from sharestack.content.schemas import (
    ContentCreate,
    ContentRead,
    ContentTeaser,
    ContentUpdate,
    ContentVersionRead,
    Page,
)
from sharestack.db.base import utcnow
from sharestack.db.session import ReadSession, WriteSession
from sharestack.jobs import outbox
from sharestack.pagination import Position, decode_cursor, encode_cursor
from sharestack.subscriptions import service as subscriptions_service

EXCERPT_LENGTH = 160


def make_slug(title: str) -> str:
    """ASCII words of the title plus a random suffix: ``hello-world-k3j9x2``; a title with no
    Latin letters (most Chinese titles) gets the suffix alone, ``p-k3j9x2m4``."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:80].strip("-")
    suffix = secrets.token_hex(4)
    return f"{words}-{suffix}" if words else f"p-{suffix}"


def tag_slug(name: str) -> str:
    return re.sub(r"\s+", "-", unicodedata.normalize("NFKC", name).strip().lower())[:64]


def make_excerpt(body: str) -> str:
    text = " ".join(body.split())
    return text if len(text) <= EXCERPT_LENGTH else text[: EXCERPT_LENGTH - 1] + "…"


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
        excerpt=data.excerpt if data.excerpt is not None else make_excerpt(data.body),
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


async def get_for_author(session: WriteSession, content_id: int, user_id: int) -> Content:
    """The item, for a change by ``user_id``: 404 for someone else's draft, 403 otherwise."""
    content = await repository.get(session, content_id)
    if content is None:
        raise ContentNotFound()
    if content.author_id != user_id:
        if content.status != "published":
            raise ContentNotFound()
        raise NotAuthor()
    return content


async def update(
    session: WriteSession, content: Content, editor_id: int, changes: ContentUpdate
) -> Content:
    await cache_scopes.track(session, content)  # where it appears before the change
    data = changes.model_dump(exclude_unset=True, exclude_none=True)
    tags = data.pop("tags", None)
    for field, value in data.items():
        setattr(content, field, value)
    if "body" in data and "excerpt" not in data:
        content.excerpt = make_excerpt(content.body)
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


async def _visible(session: ReadSession, content: Content | None, viewer_id: int | None) -> Content:
    if content is None or (content.status != "published" and content.author_id != viewer_id):
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


async def read(session: ReadSession, content: Content, viewer_id: int | None) -> ContentRead:
    withheld = content.visibility == "subscribers" and not (
        viewer_id is not None
        and (
            viewer_id == content.author_id
            or await subscriptions_service.has_access(session, viewer_id, content.author_id)
        )
    )
    tags = await repository.tag_names(session, [content.id])
    return ContentRead(
        **_teaser_fields(content, tags.get(content.id, [])),
        status=content.status,
        version=content.version,
        body=None if withheld else content.body,
        body_withheld=withheld,
        created_at=content.created_at,
        updated_at=content.updated_at,
    )


async def read_by_id(session: ReadSession, content_id: int, viewer_id: int | None) -> ContentRead:
    content = await _visible(session, await repository.get(session, content_id), viewer_id)
    return await read(session, content, viewer_id)


async def read_by_slug(session: ReadSession, slug: str, viewer_id: int | None) -> ContentRead:
    content = await _visible(session, await repository.get_by_slug(session, slug), viewer_id)
    return await read(session, content, viewer_id)


async def _teasers(session: ReadSession, items: Sequence[Content]) -> list[ContentTeaser]:
    tags = await repository.tag_names(session, [c.id for c in items])
    return [ContentTeaser(**_teaser_fields(c, tags.get(c.id, []))) for c in items]


async def _feed_page(
    session: ReadSession, items: Sequence[Content], limit: int
) -> Page[ContentTeaser]:
    has_more = len(items) > limit
    items = items[:limit]
    next_cursor = None
    if has_more and items and items[-1].published_at is not None:
        next_cursor = encode_cursor(Position(items[-1].published_at, items[-1].id))
    return Page[ContentTeaser](items=await _teasers(session, items), next_cursor=next_cursor)


async def creator_feed(
    session: ReadSession, author_id: int, cursor: str | None, limit: int
) -> Page[ContentTeaser]:
    after = decode_cursor(cursor) if cursor else None
    items = await repository.creator_feed(session, author_id, after, limit + 1)
    return await _feed_page(session, items, limit)


async def tag_feed(
    session: ReadSession, slug: str, cursor: str | None, limit: int
) -> Page[ContentTeaser]:
    after = decode_cursor(cursor) if cursor else None
    tag = await repository.get_tag(session, tag_slug(slug))
    if tag is None:
        raise TagNotFound()
    items = await repository.tag_feed(session, tag.id, after, limit + 1)
    return await _feed_page(session, items, limit)


async def author_items(
    session: ReadSession, author_id: int, cursor: str | None, limit: int
) -> Page[ContentRead]:
    before = decode_cursor(cursor).id if cursor else None
    items = await repository.author_items(session, author_id, before, limit + 1)
    page = [await read(session, c, author_id) for c in items[:limit]]
    next_cursor = None
    if len(items) > limit:
        last = items[limit - 1]
        next_cursor = encode_cursor(Position(last.created_at, last.id))
    return Page[ContentRead](items=page, next_cursor=next_cursor)


async def versions(
    session: WriteSession, content_id: int, user_id: int
) -> list[ContentVersionRead]:
    content = await get_for_author(session, content_id, user_id)
    return [
        ContentVersionRead(
            version=v.version,
            title=v.title,
            excerpt=v.excerpt,
            body=v.body,
            visibility=v.visibility,
            editor_id=v.editor_id,
            created_at=v.created_at,
        )
        for v in await repository.versions(session, content.id)
    ]
