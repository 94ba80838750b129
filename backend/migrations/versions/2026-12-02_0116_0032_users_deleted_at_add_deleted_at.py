"""users.deleted_at: when the account was erased (the row stays as an anonymised tombstone)

A column rather than a new status: changing the status CHECK needs a table rebuild on SQLite,
and rebuilding ``users`` there would cascade deletes into every table that points at it.

Revision ID: 0032_users_deleted_at
Revises: 0031_users_email_verified
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from sharestack.db.migration_helpers import foreign_keys_off_on_sqlite

revision: str = "0032_users_deleted_at"
down_revision: str | None = "0031_users_email_verified"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.add_column("users", sa.Column("deleted_at", UTC_DATETIME, nullable=True))


def downgrade() -> None:
    with foreign_keys_off_on_sqlite(), op.batch_alter_table("users") as batch:
        batch.drop_column("deleted_at")
