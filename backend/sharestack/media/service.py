"""Media: uploads, reads, deletes, avatars and the media of content items. Decoding rules are in
``media/images.py``; who may fetch a file in ``media/serving.py``; the variants and cleanup jobs
in ``media/jobs.py``.

An upload is one write transaction: the owner's quota row is locked first (so concurrent
uploads of one owner are serialised and the quota holds exactly), then the file's key; the file
is written before the rows that point to it, and removed again if they fail.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from sharestack.config import Settings
from sharestack.db.base import utcnow
from sharestack.db.session import ReadSession, WriteSession
from sharestack.jobs import outbox
from sharestack.media import images, repository
from sharestack.media.exceptions import (
    InvalidMediaReference,
    MediaNotFound,
    NotOwner,
    QuotaExceeded,
)
from sharestack.media.models import Media, MediaFile, MediaLink
from sharestack.media.schemas import (
    ContentMediaRead,
    ContentMediaUpdate,
    MediaFileRead,
    MediaRead,
    MediaUsage,
)
from sharestack.storage import Storage

MAX_ID = 2**63 - 1
PUBLIC_CACHE = "public, max-age=31536000, immutable"
PRIVATE_CACHE = "private, no-store"


def limits(settings: Settings) -> images.Limits:
    return images.Limits(
        max_bytes=settings.media_max_upload_bytes,
        max_pixels=settings.media_max_pixels,
        max_dimension=settings.media_max_dimension,
    )


def key_for(access: str, sha256: str, extension: str) -> str:
    """Content-addressed: the same bytes get the same key. Public and subscribers files live
    under different roots (nginx serves only ``public/``)."""
    root = "public" if access == "public" else "protected"
    return f"{root}/{sha256[:2]}/{sha256}.{extension}"


def cache_control(access: str) -> str:
    return PUBLIC_CACHE if access == "public" else PRIVATE_CACHE


@dataclass(frozen=True)
class Uploaded:
    media: MediaRead
    created: bool


async def decode(settings: Settings, data: bytes, declared_type: str | None) -> images.Encoded:
    """Decode, check and re-encode in a thread (CPU-bound; the event loop keeps serving)."""
    return await asyncio.to_thread(images.process_upload, data, declared_type, limits(settings))


async def upload(
    session: WriteSession,
    storage: Storage,
    settings: Settings,
    owner_id: int,
    access: str,
    encoded: images.Encoded,
) -> Uploaded:
    account = await repository.lock_account(session, owner_id)
    dedupe_key = f"{owner_id}:{access}:{encoded.sha256}"
    existing = await repository.by_dedupe_key(session, dedupe_key)
    if existing is not None:
        return Uploaded(await present(session, settings, existing), created=False)
    size = len(encoded.data)
    if (
        account.item_count + 1 > settings.media_quota_count
        or account.total_bytes + size > settings.media_quota_bytes
    ):
        raise QuotaExceeded(
            f"Your media quota is {settings.media_quota_count} items and "
            f"{settings.media_quota_bytes} bytes; {account.item_count} items and "
            f"{account.total_bytes} bytes are used."
        )
    key = key_for(access, encoded.sha256, encoded.extension)
    await repository.lock_blob(session, key, size)
    existed = await storage.exists(key)
    await storage.put(key, encoded.data, encoded.content_type, cache_control(access))
    try:
        media = Media(
            owner_id=owner_id,
            access=access,
            sha256=encoded.sha256,
            dedupe_key=dedupe_key,
            content_type=encoded.content_type,
            width=encoded.width,
            height=encoded.height,
            bytes=size,
            state="processing",
        )
        await repository.add(session, media)
        original = MediaFile(
            media_id=media.id,
            variant="original",
            key=key,
            content_type=encoded.content_type,
            width=encoded.width,
            height=encoded.height,
            bytes=size,
        )
        account.item_count += 1
        account.total_bytes += size
        await repository.add(session, original)
        # Variants are made by a job once this commits; the answer does not wait for them.
        await outbox.enqueue(session, "make_media_variants", media_id=media.id)
    except BaseException:
        if not existed:  # nothing of a failed upload stays behind
            with contextlib.suppress(Exception):
                await storage.delete(key)
        raise
    return Uploaded(await present(session, settings, media, [original]), created=True)


async def get(session: ReadSession, media_id: int) -> Media:
    media = await repository.get(session, media_id)
    if media is None:
        raise MediaNotFound()
    return media


async def get_for_owner(session: WriteSession, media_id: int, user_id: int) -> Media:
    """Locked for a change: 404 when gone (a concurrent delete), 403 for someone else's."""
    media = await repository.get_for_update(session, media_id)
    if media is None:
        raise MediaNotFound()
    if media.owner_id != user_id:
        raise NotOwner()
    return media


async def delete(session: WriteSession, media_id: int, user_id: int) -> None:
    """Retires the item at once (404 from now on, quota given back); its files stay for
    MEDIA_CLEANUP_GRACE_SECONDS and are then removed by the cleanup job unless another item
    uses the same bytes. The owner's row is locked first, as an upload does."""
    await repository.lock_account(session, user_id)
    media = await get_for_owner(session, media_id, user_id)
    await retire(session, media)


async def retire(session: WriteSession, media: Media) -> None:
    account = await repository.lock_account(session, media.owner_id)
    media.deleted_at = utcnow()
    media.dedupe_key = None
    account.item_count = max(0, account.item_count - 1)
    account.total_bytes = max(0, account.total_bytes - media.bytes)
    if account.avatar_media_id == media.id:
        account.avatar_media_id = None
    await session.flush()


async def set_avatar(session: WriteSession, user_id: int, media_id: int) -> None:
    account = await repository.lock_account(session, user_id)
    media = await repository.get(session, media_id)
    if media is None or media.owner_id != user_id:
        raise MediaNotFound()
    if media.access != "public":
        raise InvalidMediaReference("An avatar must be public media.", fields={"file": "access"})
    account.avatar_media_id = media.id
    await session.flush()


async def usage(session: ReadSession, settings: Settings, user_id: int) -> MediaUsage:
    account = await repository.account(session, user_id)
    return MediaUsage(
        item_count=account.item_count if account else 0,
        total_bytes=account.total_bytes if account else 0,
        quota_count=settings.media_quota_count,
        quota_bytes=settings.media_quota_bytes,
    )


def file_url(settings: Settings, media: Media, file: MediaFile) -> str:
    if media.access == "public":
        return f"{settings.media_public_base_url.rstrip('/')}/{file.key.removeprefix('public/')}"
    suffix = "" if file.variant == "original" else f"?variant={file.variant}"
    return f"/api/v1/media/{media.id}/file{suffix}"


async def present(
    session: ReadSession,
    settings: Settings,
    media: Media,
    known: Sequence[MediaFile] | None = None,
) -> MediaRead:
    rows = (
        list(known)
        if known is not None
        else (await repository.files(session, [media.id]))[media.id]
    )
    return _as_read(settings, media, rows)


def _as_read(settings: Settings, media: Media, rows: Sequence[MediaFile]) -> MediaRead:
    original = next((f for f in rows if f.variant == "original"), None)
    url = file_url(settings, media, original) if original else ""
    return MediaRead(
        id=media.id,
        owner_id=media.owner_id,
        access=media.access,
        url=url,
        content_type=media.content_type,
        width=media.width,
        height=media.height,
        bytes=media.bytes,
        state=media.state,
        variants=[
            MediaFileRead(
                variant=f.variant,
                url=file_url(settings, media, f),
                content_type=f.content_type,
                width=f.width,
                height=f.height,
                bytes=f.bytes,
            )
            for f in rows
            if f.variant != "original"
        ],
        created_at=media.created_at,
    )


async def present_many(
    session: ReadSession, settings: Settings, items: Sequence[Media]
) -> list[MediaRead]:
    """One files query for the whole list."""
    rows = await repository.files(session, [m.id for m in items])
    return [_as_read(settings, m, rows[m.id]) for m in items]


async def set_content_media(
    session: WriteSession,
    settings: Settings,
    content_id: int,
    author_id: int,
    data: ContentMediaUpdate,
) -> None:
    """The content item's cover and embedded media (the caller has checked authorship): only
    the author's own live media may be referenced."""
    wanted = list(dict.fromkeys(data.media_ids))
    ids = [*wanted, *([data.cover_media_id] if data.cover_media_id else [])]
    owned = await repository.owned_live(session, author_id, [i for i in ids if i <= MAX_ID])
    missing = sorted(set(ids) - owned)
    if missing:
        raise InvalidMediaReference(
            f"Media {', '.join(map(str, missing))} not found among your media.",
            fields={"media_ids": "unknown"},
        )
    links = [
        MediaLink(content_id=content_id, media_id=m, role="embed", position=i)
        for i, m in enumerate(wanted)
        if m != data.cover_media_id
    ]
    if data.cover_media_id:
        links.append(MediaLink(content_id=content_id, media_id=data.cover_media_id, role="cover"))
    await repository.replace_links(session, content_id, links)
    await repository.mark_linked(session, sorted(owned))


async def content_media(
    session: ReadSession, settings: Settings, content_id: int
) -> ContentMediaRead:
    """Three queries whatever the number of media: links, items, files."""
    links = await repository.content_media(session, content_id)
    items = await repository.live_by_ids(session, [x.media_id for x in links])
    presented = {m.id: m for m in await present_many(session, settings, items)}
    cover = next((presented.get(x.media_id) for x in links if x.role == "cover"), None)
    embeds = [presented[x.media_id] for x in links if x.role == "embed" and x.media_id in presented]
    return ContentMediaRead(content_id=content_id, cover=cover, media=embeds)
