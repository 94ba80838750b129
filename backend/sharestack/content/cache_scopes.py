"""Which cache entries a content item appears in, noted by the write paths (see
``sharestack.cache.invalidation``): its own entries by id and slug, its author's feed, its tags'
feeds."""

from __future__ import annotations

from collections.abc import Sequence

from sharestack.cache import invalidation, keys
from sharestack.content.models import Content, Tag
from sharestack.db.session import WriteSession


def track(session: WriteSession, content: Content, tags: Sequence[Tag]) -> None:
    """Note every cached entry ``content`` appears in, with ``tags`` its tags at that moment.
    Call before a change (where it appeared) and after it (where it appears now): the slug, the
    author's feed and the tags may differ."""
    if content.id is None:
        return
    invalidation.note(
        session,
        keys.scope_content_id(content.id),
        keys.scope_content_slug(content.slug),
        keys.scope_creator_feed(content.author_id),
        *(keys.scope_tag_feed(tag.slug) for tag in tags),
    )
