"""Content's jobs (registered with the worker through ``sharestack.job_index``). Each is
idempotent: a job may run twice in rare failures (see ``sharestack.jobs``)."""

from __future__ import annotations

import contextlib

from sharestack.cache.reads import CachedReads
from sharestack.content import cached
from sharestack.content.exceptions import TagNotFound
from sharestack.jobs.registry import job
from sharestack.resources import Resources

FIRST_PAGE = 20


@job(retries=5, retry_delay=0.5, timeout=30)
async def warm_content_cache(ctx: Resources, *, content_id: int) -> None:
    """Fill the cache entries a reader will ask for right after a publication: the item by id and
    by slug, the first page of its author's feed and of each of its tags' feeds."""
    reads = CachedReads(ctx.cache, ctx.db.routing)
    item = await cached.item_by_id(reads, content_id)
    if item is None:
        return  # unpublished or deleted again before the job ran: nothing to warm
    await cached.item_by_slug(reads, item.slug)
    await cached.creator_feed_page(reads, ctx.cursors, item.author_id, None, FIRST_PAGE)
    for tag in item.tag_slugs:
        with contextlib.suppress(TagNotFound):  # the tag went away since: nothing to warm
            await cached.tag_feed_page(reads, ctx.cursors, tag, None, FIRST_PAGE)
