"""users.email becomes optional: phone- and WeChat-only accounts have no address

The unique index stays: NULLs do not collide in it (MySQL, MariaDB and SQLite agree), so it
still means "one account per address". Downgrading needs every user to have an email again.

Revision ID: 0026_users_email_optional
Revises: 0047_one_idempotency_table
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from sharestack.db.migration_helpers import foreign_keys_off_on_sqlite

revision: str = "0026_users_email_optional"
down_revision: str | None = "0047_one_idempotency_table"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMAIL = sa.String(254).with_variant(
    mysql.VARCHAR(254, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
)


def _nullable(nullable: bool) -> None:
    with foreign_keys_off_on_sqlite(), op.batch_alter_table("users") as batch:
        batch.alter_column(
            "email",
            existing_type=EMAIL,
            type_=EMAIL,
            nullable=nullable,
            existing_nullable=not nullable,
        )


def upgrade() -> None:
    _nullable(True)


def downgrade() -> None:
    _nullable(False)
