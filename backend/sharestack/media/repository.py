"""Media queries. Locks, in the order every writer takes them (so no two writers deadlock):
the owner's ``media_accounts`` row, then ``media_blobs`` rows in key order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from sharestack.db.base import utcnow
from sharestack.db.session import ReadSession, WriteSession
from sharestack.media.models import Media, MediaAccount, MediaBlob, MediaFile, MediaLink


def _insert_ignore(table: type[object]) -> sa.Insert:
    return (
        sa.insert(table)
        .prefix_with("IGNORE", dialect="mysql")
        .prefix_with("IGNORE", dialect="mariadb")
        .prefix_with("OR IGNORE", dialect="sqlite")
    )


async def _ensure_locked(
    session: WriteSession, table: type[object], values: dict[str, object], key: str
) -> None:
    """Insert the row if missing, leaving it exclusively locked either way.

    On MySQL/MariaDB ``INSERT ... ON DUPLICATE KEY UPDATE`` takes the exclusive lock at once.
    INSERT IGNORE would not do: on a duplicate it takes a *shared* lock, and two writers that
    then both ask ``FOR UPDATE`` deadlock on the upgrade. SQLite serialises writers anyway."""
    if session.get_bind().dialect.name in ("mysql", "mariadb"):
        upsert = mysql.insert(table).values(values)
        await session.execute(upsert.on_duplicate_key_update({key: upsert.inserted[key]}))
    else:
        await session.execute(_insert_ignore(table), [values])


async def lock_account(session: WriteSession, user_id: int) -> MediaAccount:
    """The owner's quota row, created if missing, locked (``FOR UPDATE``) for this transaction:
    concurrent uploads and deletes of one owner are serialised here, so the counts stay exact
    and the quota is never exceeded."""
    await _ensure_locked(
        session, MediaAccount, {"user_id": user_id, "item_count": 0, "total_bytes": 0}, "user_id"
    )
    query = (
        sa.select(MediaAccount)
        .where(MediaAccount.user_id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(query)).scalar_one()


async def account(session: ReadSession, user_id: int) -> MediaAccount | None:
    return await session.get(MediaAccount, user_id)


async def lock_blob(session: WriteSession, key: str, size: int) -> None:
    """Creates the key's row if missing and locks it: an upload reusing a key and the cleanup job
    removing it take turns (the cleanup deletes the file while holding this lock)."""
    await _ensure_locked(
        session, MediaBlob, {"key": key, "bytes": size, "created_at": utcnow()}, "key"
    )


async def get(session: ReadSession, media_id: int) -> Media | None:
    media = await session.get(Media, media_id)
    return media if media is not None and media.deleted_at is None else None


async def get_for_update(session: WriteSession, media_id: int) -> Media | None:
    query = (
        sa.select(Media)
        .where(Media.id == media_id, Media.deleted_at.is_(None))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def by_dedupe_key(session: WriteSession, dedupe_key: str) -> Media | None:
    query = sa.select(Media).where(Media.dedupe_key == dedupe_key)
    return (await session.execute(query)).scalar_one_or_none()


async def files(session: ReadSession, media_ids: Sequence[int]) -> dict[int, list[MediaFile]]:
    if not media_ids:
        return {}
    query = sa.select(MediaFile).where(MediaFile.media_id.in_(media_ids)).order_by(MediaFile.width)
    out: dict[int, list[MediaFile]] = {m: [] for m in media_ids}
    for row in (await session.execute(query)).scalars():
        out[row.media_id].append(row)
    return out


async def add(session: WriteSession, *rows: object) -> None:
    session.add_all(rows)
    await session.flush()


async def add_variant(session: WriteSession, row: MediaFile) -> None:
    """One variant, once: a job that runs twice inserts nothing the second time."""
    await session.execute(
        _insert_ignore(MediaFile),
        [
            {
                "media_id": row.media_id,
                "variant": row.variant,
                "key": row.key,
                "content_type": row.content_type,
                "width": row.width,
                "height": row.height,
                "bytes": row.bytes,
            }
        ],
    )


async def content_media(session: ReadSession, content_id: int) -> list[MediaLink]:
    query = (
        sa.select(MediaLink)
        .where(MediaLink.content_id == content_id)
        .order_by(MediaLink.role, MediaLink.position)
    )
    return list((await session.execute(query)).scalars())


async def replace_links(session: WriteSession, content_id: int, links: list[MediaLink]) -> None:
    await session.execute(sa.delete(MediaLink).where(MediaLink.content_id == content_id))
    session.add_all(links)
    await session.flush()


async def live_by_ids(session: ReadSession, ids: Sequence[int]) -> list[Media]:
    if not ids:
        return []
    query = sa.select(Media).where(Media.id.in_(ids), Media.deleted_at.is_(None))
    return list((await session.execute(query)).scalars())


async def mark_linked(session: WriteSession, ids: Sequence[int]) -> None:
    if ids:
        await session.execute(
            sa.update(Media)
            .where(Media.id.in_(ids), Media.linked_at.is_(None))
            .values(linked_at=utcnow())
        )


async def owned_live(session: WriteSession, owner_id: int, ids: Sequence[int]) -> set[int]:
    if not ids:
        return set()
    query = sa.select(Media.id).where(
        Media.id.in_(ids), Media.owner_id == owner_id, Media.deleted_at.is_(None)
    )
    return set((await session.execute(query)).scalars())


async def is_linked(session: ReadSession, media_id: int) -> bool:
    query = sa.select(MediaLink.content_id).where(MediaLink.media_id == media_id).limit(1)
    return (await session.execute(query)).first() is not None


async def due_for_purge(session: WriteSession, before: datetime, limit: int) -> list[Media]:
    query = (
        sa.select(Media)
        .where(Media.deleted_at.is_not(None), Media.deleted_at < before)
        .order_by(Media.deleted_at)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def purge(session: WriteSession, media_ids: Sequence[int]) -> list[str]:
    """Deletes the items (their files' rows cascade); returns the keys they used."""
    if not media_ids:
        return []
    keys = (
        await session.execute(
            sa.select(MediaFile.key).where(MediaFile.media_id.in_(media_ids)).distinct()
        )
    ).scalars()
    found = sorted(set(keys))
    await session.execute(sa.delete(MediaFile).where(MediaFile.media_id.in_(media_ids)))
    await session.execute(sa.delete(Media).where(Media.id.in_(media_ids)))
    return found


async def unreferenced_blobs(session: WriteSession, before: datetime, limit: int) -> list[str]:
    """Keys no file row uses, older than ``before`` (a younger one may be an upload under way)."""
    used = sa.select(MediaFile.id).where(MediaFile.key == MediaBlob.key).exists()
    query = (
        sa.select(MediaBlob.key)
        .where(MediaBlob.created_at < before, ~used)
        .order_by(MediaBlob.key)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def lock_if_unreferenced(session: WriteSession, key: str) -> bool:
    """Locks the key's row and says whether it is still unused (checked under the lock)."""
    locked = await session.execute(
        sa.select(MediaBlob.key).where(MediaBlob.key == key).with_for_update()
    )
    if locked.first() is None:
        return False
    used = await session.execute(sa.select(MediaFile.id).where(MediaFile.key == key).limit(1))
    return used.first() is None


async def delete_blob(session: WriteSession, key: str) -> None:
    await session.execute(sa.delete(MediaBlob).where(MediaBlob.key == key))


async def orphaned_linked(session: WriteSession, limit: int) -> list[Media]:
    """Live items that were used by an article and no longer are (the article was deleted or
    changed) and are no one's avatar: what the cleanup job retires."""
    link = sa.select(MediaLink.media_id).where(MediaLink.media_id == Media.id).exists()
    avatar = (
        sa.select(MediaAccount.user_id).where(MediaAccount.avatar_media_id == Media.id).exists()
    )
    query = (
        sa.select(Media)
        .where(Media.deleted_at.is_(None), Media.linked_at.is_not(None), ~link, ~avatar)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())
