"""create media_blobs (one row per stored, content-addressed key: the cleanup's lock)

Revision ID: 0037_media_blobs
Revises: 0036_media_files
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0037_media_blobs"
down_revision: str | None = "0036_media_files"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
TABLE = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_unicode_ci",
}


def _exact(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(
        mysql.VARCHAR(length, collation="utf8mb4_bin"), "mysql", "mariadb"
    )


def _closed(*values: str, name: str, length: int = 16) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=length)


def upgrade() -> None:
    op.create_table(
        "media_blobs",
        sa.Column("id", BIGINT_ID, autoincrement=True, nullable=False),
        sa.Column("key", _exact(200), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_blobs")),
        sa.UniqueConstraint("key", name=op.f("uq_media_blobs_key")),
        **TABLE,
    )
    op.create_index("ix_media_blobs_created_at", "media_blobs", ["created_at"])


def downgrade() -> None:
    op.drop_table("media_blobs")
