"""Content tables.

Read paths and the index that serves each:
- one item by slug: ``uq_contents_slug``;
- a creator's published feed, newest first: ``ix_contents_feed`` (author_id, status,
  published_at, id) gives equality on the first two and an ordered range on the rest;
- a tag's feed, newest first: ``content_tags`` carries a copy of the item's ``published_at``
  (NULL while unpublished), so ``ix_content_tags_feed`` (tag_id, published_at, content_id) orders
  the feed without joining first and without a filesort;
- an author's own items (drafts included): ``ix_contents_author_id_id``.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from sharestack.db.base import (
    TABLE_OPTIONS,
    Base,
    BigIntPK,
    ExactString,
    LongText,
    TimestampMixin,
    UTCDateTime,
    closed_set,
    utcnow,
)

VISIBILITIES = ("public", "subscribers")
STATUSES = ("draft", "published")


class Content(TimestampMixin, Base):
    __tablename__ = "contents"
    __table_args__ = (
        sa.Index("ix_contents_feed", "author_id", "status", "published_at", "id"),
        sa.Index("ix_contents_author_id_id", "author_id", "id"),
        TABLE_OPTIONS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    author_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    slug: Mapped[str] = mapped_column(ExactString(120), unique=True, nullable=False)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    excerpt: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")
    body: Mapped[str] = mapped_column(LongText, nullable=False)
    visibility: Mapped[str] = mapped_column(
        closed_set(*VISIBILITIES, name="visibility"), nullable=False, default="public"
    )
    status: Mapped[str] = mapped_column(
        closed_set(*STATUSES, name="status"), nullable=False, default="draft"
    )
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ContentVersion(Base):
    """Append-only history: every save of a content item adds one row."""

    __tablename__ = "content_versions"
    __table_args__ = (sa.UniqueConstraint("content_id", "version"), TABLE_OPTIONS)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    content_id: Mapped[int] = mapped_column(
        sa.ForeignKey("contents.id", ondelete="CASCADE"), nullable=False
    )
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    editor_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    excerpt: Mapped[str] = mapped_column(sa.String(500), nullable=False)
    body: Mapped[str] = mapped_column(LongText, nullable=False)
    visibility: Mapped[str] = mapped_column(
        closed_set(*VISIBILITIES, name="visibility"), nullable=False
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = TABLE_OPTIONS

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(ExactString(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class ContentTag(Base):
    __tablename__ = "content_tags"
    __table_args__ = (
        sa.Index("ix_content_tags_feed", "tag_id", "published_at", "content_id"),
        TABLE_OPTIONS,
    )

    content_id: Mapped[int] = mapped_column(
        sa.ForeignKey("contents.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True
    )
    # Copy of contents.published_at while the item is published, NULL otherwise (see module doc).
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
