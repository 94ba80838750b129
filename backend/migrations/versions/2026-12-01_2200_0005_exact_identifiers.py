"""compare slugs, tag slugs and emails byte for byte (utf8mb4_bin)

Their canonical form is decided in Python (sharestack.text); a case- and accent-insensitive
collation would make MySQL and MariaDB match spellings that SQLite keeps apart.

Revision ID: 0005_exact_identifiers
Revises: 0004_outbox
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0005_exact_identifiers"
down_revision: str | None = "0004_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (("contents", "slug", 120), ("tags", "slug", 64), ("users", "email", 254))
CREDENTIALS = ("user_auth", "identifier", 254)


def _alter(collation: str) -> None:
    if op.get_bind().dialect.name not in ("mysql", "mariadb"):
        return  # SQLite compares bytes already
    for table, column, length in (*COLUMNS, CREDENTIALS):
        op.alter_column(
            table,
            column,
            existing_type=sa.String(length),
            type_=mysql.VARCHAR(length, charset="utf8mb4", collation=collation),
            existing_nullable=False,
        )


def upgrade() -> None:
    _alter("utf8mb4_bin")


def downgrade() -> None:
    _alter("utf8mb4_unicode_ci")
