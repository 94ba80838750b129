"""Media tables.

- ``media``: one uploaded image of one owner. ``dedupe_key`` (owner, access, hash) is unique
  while the item lives and NULL once deleted, so the same file uploaded twice by one owner is one
  item, and may be uploaded again after a delete.
- ``media_files``: the stored files of an item, its re-encoded original and its variants.
- ``media_blobs``: one row per stored key. Keys are content-addressed, so identical files of
  several items (or owners) are stored once; the row is the lock that serialises an upload
  reusing a key with the cleanup job removing it (``repository.lock_blob``).
- ``media_accounts``: per owner, the live items' count and bytes (the quota, updated under this
  row's lock) and the avatar.
- ``media_links``: which content item uses which media, as its cover or embedded in its body.

Read paths: an item by id (primary key); an owner's dedupe lookup (``uq_media_dedupe_key``);
the cleanup job's due items (``ix_media_deleted_at``); files by key (``ix_media_files_key``);
links by media (``ix_media_links_media_id``).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from sharestack.db.base import (
    TABLE_OPTIONS,
    Base,
    BigInt,
    BigIntPK,
    ExactString,
    UTCDateTime,
    closed_set,
    utcnow,
)

ACCESSES = ("public", "subscribers")
STATES = ("processing", "ready")
ROLES = ("cover", "embed")


class Media(Base):
    __tablename__ = "media"
    __table_args__ = (sa.Index("ix_media_deleted_at", "deleted_at"), TABLE_OPTIONS)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    owner_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    access: Mapped[str] = mapped_column(closed_set(*ACCESSES, name="access"), nullable=False)
    sha256: Mapped[str] = mapped_column(sa.CHAR(64), nullable=False)
    dedupe_key: Mapped[str | None] = mapped_column(ExactString(100), unique=True, nullable=True)
    content_type: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    width: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    height: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    bytes: Mapped[int] = mapped_column(BigInt, nullable=False)
    state: Mapped[str] = mapped_column(closed_set(*STATES, name="state"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Set when an article first uses the item: from then on the item belongs to its articles,
    # and the cleanup job retires it once none uses it.
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class MediaFile(Base):
    __tablename__ = "media_files"
    __table_args__ = (
        sa.UniqueConstraint("media_id", "variant"),
        sa.Index("ix_media_files_key", "key"),
        TABLE_OPTIONS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    media_id: Mapped[int] = mapped_column(
        sa.ForeignKey("media.id", ondelete="CASCADE"), nullable=False
    )
    # "original" or "w<width>" (e.g. "w960").
    variant: Mapped[str] = mapped_column(ExactString(16), nullable=False)
    key: Mapped[str] = mapped_column(ExactString(200), nullable=False)
    content_type: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    width: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    height: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    bytes: Mapped[int] = mapped_column(BigInt, nullable=False)


class MediaBlob(Base):
    __tablename__ = "media_blobs"
    __table_args__ = (sa.Index("ix_media_blobs_created_at", "created_at"), TABLE_OPTIONS)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(ExactString(200), unique=True, nullable=False)
    bytes: Mapped[int] = mapped_column(BigInt, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class MediaAccount(Base):
    __tablename__ = "media_accounts"
    __table_args__ = TABLE_OPTIONS

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    item_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    total_bytes: Mapped[int] = mapped_column(BigInt, nullable=False, default=0)
    avatar_media_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("media.id", ondelete="SET NULL"), nullable=True, index=True
    )


class MediaLink(Base):
    __tablename__ = "media_links"
    __table_args__ = (sa.Index("ix_media_links_media_id", "media_id"), TABLE_OPTIONS)

    content_id: Mapped[int] = mapped_column(
        sa.ForeignKey("contents.id", ondelete="CASCADE"), primary_key=True
    )
    media_id: Mapped[int] = mapped_column(
        sa.ForeignKey("media.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(closed_set(*ROLES, name="role"), nullable=False)
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
