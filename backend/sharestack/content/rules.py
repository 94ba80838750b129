"""The content rules that need no I/O: who sees an item, who sees its body, who may change it,
and how slugs, tag slugs and excerpts are made. The service applies them; the unit tier tests them
directly.

Who sees what: a draft exists only for its author (everyone else gets 404, as if it did not
exist); a published item's teaser (title, excerpt, tags) is visible to all; its body is withheld
from non-subscribers when its visibility is ``subscribers``. Only the author edits: others get 403
on a published item and 404 on a draft.
"""

from __future__ import annotations

import re
import secrets
import unicodedata

from sharestack.content.exceptions import ContentNotFound, NotAuthor, StaleVersion
from sharestack.text import canonical_slug

EXCERPT_LENGTH = 160
PUBLISHED = "published"
SUBSCRIBERS = "subscribers"


def is_visible(status: str, author_id: int, viewer_id: int | None) -> bool:
    """Whether the item exists for this viewer at all."""
    return status == PUBLISHED or author_id == viewer_id


def ensure_author(status: str, author_id: int, user_id: int) -> None:
    """Refuse a change by anyone but the author: 404 for someone else's draft (it does not exist
    for them), 403 for someone else's published item."""
    if author_id == user_id:
        return
    if status != PUBLISHED:
        raise ContentNotFound()
    raise NotAuthor()


def needs_access_check(visibility: str, author_id: int, viewer_id: int | None) -> bool:
    """Whether showing the body depends on the viewer's subscription (a query): only for a
    signed-in reader of someone else's subscribers-only item."""
    return visibility == SUBSCRIBERS and viewer_id is not None and viewer_id != author_id


def withholds_body(
    visibility: str, author_id: int, viewer_id: int | None, has_access: bool
) -> bool:
    """Whether the body is withheld from this viewer; ``has_access`` is their subscription's
    answer (only consulted when :func:`needs_access_check` says so)."""
    if visibility != SUBSCRIBERS or viewer_id == author_id:
        return False
    return viewer_id is None or not has_access


def make_slug(title: str) -> str:
    """ASCII words of the title plus a random suffix: ``hello-world-k3j9x2``; a title with no
    Latin letters (most Chinese titles) gets the suffix alone, ``p-k3j9x2m4``."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:80].strip("-")
    suffix = secrets.token_hex(4)
    return f"{words}-{suffix}" if words else f"p-{suffix}"


def tag_slug(name: str) -> str:
    """A tag's slug from its name: canonical (``sharestack.text.canonical_slug``), spaces as
    hyphens. ``Café``, ``CAFÉ `` and ``ｃａｆé`` are one tag; ``cafe`` is another."""
    return re.sub(r"\s+", "-", canonical_slug(name))[:64]


def make_excerpt(body: str) -> str:
    text = " ".join(body.split())
    return text if len(text) <= EXCERPT_LENGTH else text[: EXCERPT_LENGTH - 1] + "…"


def excerpt_for(visibility: str, body: str, written: str | None) -> str:
    """The excerpt everyone sees: what the author wrote, or, for a public item only, one made from
    its body. A subscribers-only item's paywall is a security boundary: no text derived from its
    body is ever public, so without a written excerpt it has none."""
    if written is not None:
        return written
    return "" if visibility == SUBSCRIBERS else make_excerpt(body)


def excerpt_was_written(excerpt: str, body: str) -> bool:
    """Whether a stored excerpt is the author's own rather than derived from ``body`` (an edit of
    the body then keeps it, and a switch to subscribers-only does not clear it)."""
    return bool(excerpt) and excerpt != make_excerpt(body)


def etag(version: int, withheld: bool = False) -> str:
    """The entity tag of an item's rendering: its version, and whether the body was withheld
    (two renderings of one version are different representations)."""
    return f'"{version}-withheld"' if withheld else f'"{version}"'


def _tag_version(tag: str) -> int | None:
    tag = tag.strip().removeprefix("W/")
    if len(tag) < 2 or tag[0] != '"' or tag[-1] != '"':
        return None
    value = tag[1:-1].removesuffix("-withheld")
    return int(value) if value.isdigit() and len(value) < 10 else None


def ensure_version(current: int, if_match: str | None) -> None:
    """Optimistic concurrency: a change sent with ``If-Match`` applies only to the version it
    names (``*`` matches any); otherwise 412. Without the header, concurrent changes are
    serialised by a row lock instead, each on the version before it."""
    if if_match is None or if_match.strip() == "*":
        return
    if current not in {_tag_version(tag) for tag in if_match.split(",")}:
        raise StaleVersion()
