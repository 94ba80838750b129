"""Media jobs (registered through ``sharestack.job_index``). Both are idempotent.

``make_media_variants`` runs after an upload commits (outbox): it reads the stored original and
writes one WebP per configured width narrower than the original, then marks the item ready.
``clean_up_media`` (scheduled) retires items that articles used and no longer use, removes items
deleted more than MEDIA_CLEANUP_GRACE_SECONDS ago, and deletes each stored file nothing
references any more, under that key's row lock so a concurrent upload of the same bytes either
sees the row gone (and writes the file again) or keeps it alive.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sharestack.db.after_commit import write_transaction
from sharestack.db.base import utcnow
from sharestack.jobs.registry import job
from sharestack.media import images, repository, service
from sharestack.media.models import MediaFile
from sharestack.resources import Resources
from sharestack.storage import StoredObjectMissing

logger = logging.getLogger(__name__)
BATCH = 200


@job(retries=3, retry_delay=1.0, timeout=300)
async def make_media_variants(ctx: Resources, *, media_id: int) -> None:
    async with write_transaction(ctx.db) as session:
        media = await repository.get(session, media_id)
        if media is None:
            return  # deleted before the job ran
        files = (await repository.files(session, [media_id]))[media_id]
    original = next(f for f in files if f.variant == "original")
    try:
        data = await ctx.storage.get(original.key)
    except StoredObjectMissing:
        logger.warning("media original missing", extra={"media_id": media_id})
        return
    made: list[MediaFile] = []
    for width in ctx.settings.media_variant_widths:
        name = f"w{width}"
        if width >= media.width or any(f.variant == name for f in files):
            continue
        encoded = await asyncio.to_thread(images.variant, data, width)
        key = service.key_for(media.access, encoded.sha256, encoded.extension)
        made.append(
            MediaFile(
                media_id=media_id,
                variant=name,
                key=key,
                content_type=encoded.content_type,
                width=encoded.width,
                height=encoded.height,
                bytes=len(encoded.data),
            )
        )
        async with write_transaction(ctx.db) as session:
            await repository.lock_blob(session, key, len(encoded.data))
            await ctx.storage.put(
                key, encoded.data, encoded.content_type, service.cache_control(media.access)
            )
            if await repository.get(session, media_id) is not None:
                await repository.add_variant(session, made[-1])
    async with write_transaction(ctx.db) as session:
        current = await repository.get_for_update(session, media_id)
        if current is not None:
            current.state = "ready"


@job(retries=2, timeout=600)
async def clean_up_media(ctx: Resources) -> int:
    """Returns how many stored files it removed."""
    now = utcnow()
    before = now - timedelta(seconds=ctx.settings.media_cleanup_grace_seconds)
    async with write_transaction(ctx.db) as session:
        for media in await repository.orphaned_linked(session, BATCH):
            await service.retire(session, media)
    async with write_transaction(ctx.db) as session:
        due = await repository.due_for_purge(session, before, BATCH)
        await repository.purge(session, [m.id for m in due])
    removed = 0
    async with write_transaction(ctx.db) as session:
        keys = await repository.unreferenced_blobs(session, before, BATCH)
    for key in keys:
        async with write_transaction(ctx.db) as session:
            if await repository.lock_if_unreferenced(session, key):
                await ctx.storage.delete(key)
                await repository.delete_blob(session, key)
                removed += 1
    return removed
