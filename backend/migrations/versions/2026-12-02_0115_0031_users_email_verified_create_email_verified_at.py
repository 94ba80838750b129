"""users.email_verified_at: when the owner followed a link sent to the address

Revision ID: 0031_users_email_verified
Revises: 0030_auth_tokens
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from sharestack.db.migration_helpers import foreign_keys_off_on_sqlite

revision: str = "0031_users_email_verified"
down_revision: str | None = "0030_auth_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.add_column("users", sa.Column("email_verified_at", UTC_DATETIME, nullable=True))


def downgrade() -> None:
    with foreign_keys_off_on_sqlite(), op.batch_alter_table("users") as batch:
        batch.drop_column("email_verified_at")
