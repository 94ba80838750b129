"""Which cache entries a content item appears in, noted by the write paths (see
``sharestack.cache.invalidation``): its own entries by id and slug, its author's feed, its tags'
feeds. And which of them a publication asks to have warmed again (``content/jobs.py``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sharestack.cache import invalidation, keys
from sharestack.content.models import Content
from sharestack.db.session import WriteSession
from sharestack.jobs import coalesce

WARM_FEEDS = "warm_content_feeds"
_CREATOR = "creator:"
_TAG = "tag:"


def track(session: WriteSession, content: Content, tag_slugs: Sequence[str]) -> None:
    """Note every cached entry ``content`` appears in, with ``tag_slugs`` its tags at that
    moment. Call before a change (where it appeared) and after it (where it appears now): the
    slug, the author's feed and the tags may differ."""
    if content.id is None:
        return
    invalidation.note(
        session,
        keys.scope_content_id(content.id),
        keys.scope_content_slug(content.slug),
        keys.scope_creator_feed(content.author_id),
        *(keys.scope_tag_feed(slug) for slug in tag_slugs),
    )


def warm_feeds(session: WriteSession, author_id: int, tag_slugs: Iterable[str]) -> None:
    """Ask for the first page of these feeds to be filled again once the commit invalidated
    them, by one job for every publication of the moment (``sharestack.jobs.coalesce``)."""
    coalesce.request(
        session, WARM_FEEDS, f"{_CREATOR}{author_id}", *(f"{_TAG}{slug}" for slug in tag_slugs)
    )


def feeds(members: Iterable[str]) -> tuple[list[int], list[str]]:
    """(creator ids, tag slugs) of the members :func:`warm_feeds` noted."""
    creators = [int(m.removeprefix(_CREATOR)) for m in members if m.startswith(_CREATOR)]
    tags = [m.removeprefix(_TAG) for m in members if m.startswith(_TAG)]
    return creators, tags
