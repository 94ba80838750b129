"""Content's jobs (registered with the worker through ``sharestack.job_index``). Each is
idempotent: a job may run twice in rare failures (see ``sharestack.jobs``)."""

from __future__ import annotations

import contextlib

from sharestack.cache.reads import CachedReads
from sharestack.content import cache_scopes, cached
from sharestack.content.exceptions import TagNotFound
from sharestack.jobs import coalesce
from sharestack.jobs.registry import job
from sharestack.resources import Resources

FIRST_PAGE = 20


@job(retries=3, retry_delay=0.5, timeout=60)
async def warm_content_feeds(ctx: Resources) -> None:
    """Fill the first page of the feeds publications invalidated (their authors' and their
    tags'), each once however many publications asked for it since the last run
    (``cache_scopes.warm_feeds``, ``sharestack.jobs.coalesce``). A feed someone read meanwhile
    is a hit here and costs one MGET."""
    creators, tags = cache_scopes.feeds(await coalesce.take(ctx.redis, cache_scopes.WARM_FEEDS))
    reads = CachedReads(ctx.cache, ctx.db.routing)
    for author_id in creators:
        await cached.creator_feed_page(reads, ctx.cursors, author_id, None, FIRST_PAGE)
    for tag in tags:
        with contextlib.suppress(TagNotFound):  # the tag went away since: nothing to warm
            await cached.tag_feed_page(reads, ctx.cursors, tag, None, FIRST_PAGE)


@job(retries=5, retry_delay=0.5, timeout=30)
async def warm_content_cache(ctx: Resources, *, content_id: int) -> None:
    """Fill the cache entries of one published item and its feeds. Publications no longer queue
    it (they use :func:`warm_content_feeds`); it stays registered so that outbox rows written by
    the previous release still run during a rolling deploy. Remove it in the release after."""
    reads = CachedReads(ctx.cache, ctx.db.routing)
    item = await cached.item_by_id(reads, content_id)
    if item is None:
        return  # unpublished or deleted again before the job ran: nothing to warm
    await cached.item_by_slug(reads, item.slug)
    await cached.creator_feed_page(reads, ctx.cursors, item.author_id, None, FIRST_PAGE)
    for tag in item.tag_slugs:
        with contextlib.suppress(TagNotFound):
            await cached.tag_feed_page(reads, ctx.cursors, tag, None, FIRST_PAGE)
