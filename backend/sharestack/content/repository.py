from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, defer

from sharestack.content.models import Content, ContentTag, ContentVersion, Tag
from sharestack.db.aggregates import json_array_agg, strings
from sharestack.db.base import utcnow
from sharestack.db.session import ReadSession, WriteSession
from sharestack.pagination import Position


def _after(
    published: InstrumentedAttribute[datetime | None],
    ident: InstrumentedAttribute[int],
    position: Position | None,
) -> sa.ColumnElement[bool]:
    """Rows strictly after ``position`` in (published_at DESC, id DESC) order."""
    if position is None:
        return sa.true()
    return sa.or_(
        published < position.published_at,
        sa.and_(published == position.published_at, ident < position.id),
    )


# An item with its tag names: one statement for an item or a whole page (no query per item).
Tagged = tuple[Content, list[str]]

# The item's tag names as a JSON array, correlated with the outer query's row; served by the
# content_tags primary key (content_id, tag_id) and the tags primary key.
_TAG_NAMES = (
    sa.select(json_array_agg(Tag.name))
    .select_from(ContentTag)
    .join(Tag, Tag.id == ContentTag.tag_id)
    .where(ContentTag.content_id == Content.id)
    .correlate(Content)
    .scalar_subquery()
)


def _tagged(query: sa.Select[Content]) -> sa.Select[Content, str | None]:
    return query.add_columns(_TAG_NAMES)


def _rows(result: sa.Result[Content, str | None]) -> list[Tagged]:
    return [(content, strings(names)) for content, names in result.all()]


async def get(session: ReadSession, content_id: int) -> Content | None:
    return await session.get(Content, content_id)


async def get_tagged(session: ReadSession, content_id: int) -> Tagged | None:
    rows = _rows(await session.execute(_tagged(sa.select(Content).where(Content.id == content_id))))
    return rows[0] if rows else None


async def get_tagged_by_slug(session: ReadSession, slug: str) -> Tagged | None:
    rows = _rows(await session.execute(_tagged(sa.select(Content).where(Content.slug == slug))))
    return rows[0] if rows else None


async def get_for_update(session: WriteSession, content_id: int) -> Tagged | None:
    """The row with its tag names, locked until the transaction ends (``FOR UPDATE``; SQLite has
    one writer anyway): one statement where a change used to read the item, then its tags. The
    lock also covers the item's ``content_tags`` rows the subquery reads, which a change of the
    item rewrites anyway (tags, ``published_at``) under the item's lock."""
    query = _tagged(sa.select(Content).where(Content.id == content_id)).with_for_update()
    rows = _rows(await session.execute(query))
    return rows[0] if rows else None


async def creator_feed(
    session: ReadSession, author_id: int, after: Position | None, limit: int
) -> list[Tagged]:
    query = (
        sa.select(Content)
        .where(
            Content.author_id == author_id,
            Content.status == "published",
            _after(Content.published_at, Content.id, after),
        )
        .order_by(Content.published_at.desc(), Content.id.desc())
        .limit(limit)
    )
    return _rows(await session.execute(_tagged(query)))


async def tag_feed(
    session: ReadSession, tag_id: int, after: Position | None, limit: int
) -> list[Tagged]:
    """One statement: the page of ``ix_content_tags_feed`` (a derived table, so the LIMIT applies
    to the index range before anything is joined), then its items and their tags."""
    page = (
        sa.select(ContentTag.content_id, ContentTag.published_at)
        .where(
            ContentTag.tag_id == tag_id,
            ContentTag.published_at.is_not(None),
            _after(ContentTag.published_at, ContentTag.content_id, after),
        )
        .order_by(ContentTag.published_at.desc(), ContentTag.content_id.desc())
        .limit(limit)
        .subquery("page")
    )
    query = (
        sa.select(Content)
        .join(page, page.c.content_id == Content.id)
        .where(Content.status == "published")
        .order_by(page.c.published_at.desc(), page.c.content_id.desc())
    )
    return _rows(await session.execute(_tagged(query)))


async def author_items(
    session: ReadSession, author_id: int, before_id: int | None, limit: int
) -> list[Tagged]:
    query = sa.select(Content).where(Content.author_id == author_id)
    if before_id is not None:
        query = query.where(Content.id < before_id)
    query = query.order_by(Content.id.desc()).limit(limit)
    return _rows(await session.execute(_tagged(query)))


async def published_slugs(session: ReadSession, after_id: int, limit: int) -> list[tuple[int, str]]:
    """(id, slug) of published items after ``after_id``, in id order (warming the cache)."""
    query = (
        sa.select(Content.id, Content.slug)
        .where(Content.status == "published", Content.id > after_id)
        .order_by(Content.id)
        .limit(limit)
    )
    return [(row.id, row.slug) for row in await session.execute(query)]


async def get_tagged_many(session: ReadSession, content_ids: list[int]) -> list[Tagged]:
    """These items with their tags, in one statement (any order)."""
    if not content_ids:
        return []
    query = sa.select(Content).where(Content.id.in_(content_ids))
    return _rows(await session.execute(_tagged(query)))


async def get_tag(session: ReadSession, slug: str) -> Tag | None:
    result = await session.execute(sa.select(Tag).where(Tag.slug == slug))
    return result.scalar_one_or_none()


async def ensure_tags(session: WriteSession, tags: dict[str, str]) -> list[Tag]:
    """Get or create tags by slug (``{slug: name}``).

    Existing tags (nearly always all of them) are only read, so concurrent writers take no
    locks on ``tags``. Missing ones are inserted in slug order with INSERT IGNORE: two writers
    creating the same new tags lock the unique index in the same order (no deadlock), and the
    loser of a race reads the winner's row."""
    if not tags:
        return []
    query = sa.select(Tag).where(Tag.slug.in_(sorted(tags)))
    found = list((await session.execute(query)).scalars().all())
    missing = sorted(set(tags) - {tag.slug for tag in found})
    if not missing:
        return found
    insert = (
        sa.insert(Tag)
        .prefix_with("IGNORE", dialect="mysql")
        .prefix_with("IGNORE", dialect="mariadb")
        .prefix_with("OR IGNORE", dialect="sqlite")
    )
    now = utcnow()
    await session.execute(
        insert, [{"slug": slug, "name": tags[slug], "created_at": now} for slug in missing]
    )
    return list((await session.execute(query)).scalars().all())


async def set_tags(
    session: WriteSession, content: Content, tags: Sequence[Tag], now: Sequence[Tag]
) -> None:
    """Make the item's tags exactly ``tags`` (``now``: its tags as the caller read them under the
    item's row lock), touching only the rows that change.

    A blanket ``DELETE ... WHERE content_id = ?`` before re-inserting takes next-key locks on
    the gap where a new item's rows would go; two creates at once then deadlock on each other's
    inserts. Deleting by primary key, and only what is removed, locks just those rows."""
    wanted = {tag.id for tag in tags}
    current = {tag.id for tag in now}
    removed = sorted(current - wanted)
    if removed:
        await session.execute(
            sa.delete(ContentTag).where(
                ContentTag.content_id == content.id, ContentTag.tag_id.in_(removed)
            )
        )
    published_at = content.published_at if content.status == "published" else None
    session.add_all(
        ContentTag(content_id=content.id, tag_id=tag_id, published_at=published_at)
        for tag_id in sorted(wanted - current)
    )
    await session.flush()


async def sync_tag_publication(session: WriteSession, content: Content) -> None:
    """Keep content_tags.published_at equal to the item's while published, NULL otherwise."""
    published_at = content.published_at if content.status == "published" else None
    await session.execute(
        sa.update(ContentTag)
        .where(ContentTag.content_id == content.id)
        .values(published_at=published_at)
    )


async def add(session: WriteSession, *rows: Content | ContentVersion) -> None:
    session.add_all(rows)
    await session.flush()


async def delete(session: WriteSession, content: Content) -> None:
    await session.delete(content)
    await session.flush()


async def versions(
    session: ReadSession, content_id: int, before_version: int | None, limit: int
) -> Sequence[ContentVersion]:
    """A page of the history, newest first (``uq_content_versions_content_id_version``), without
    the bodies: a long article's history would otherwise weigh megabytes."""
    query = (
        sa.select(ContentVersion)
        .options(defer(ContentVersion.body, raiseload=True))
        .where(ContentVersion.content_id == content_id)
        .order_by(ContentVersion.version.desc())
        .limit(limit)
    )
    if before_version is not None:
        query = query.where(ContentVersion.version < before_version)
    return (await session.execute(query)).scalars().all()


async def version(session: ReadSession, content_id: int, number: int) -> ContentVersion | None:
    query = sa.select(ContentVersion).where(
        ContentVersion.content_id == content_id, ContentVersion.version == number
    )
    return (await session.execute(query)).scalar_one_or_none()


async def tags_of(session: ReadSession, content_id: int) -> list[Tag]:
    """The item's tags (slug and name: where its feeds are, and what it shows), by name."""
    rows = await session.execute(
        sa.select(Tag)
        .join(ContentTag, ContentTag.tag_id == Tag.id)
        .where(ContentTag.content_id == content_id)
    )
    return sorted(rows.scalars().all(), key=lambda tag: tag.name)
