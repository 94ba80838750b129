"""payments: (provider, provider_ref) unique; the reconciliation scan index

Revision ID: 0016_payments_provider_ref
Revises: 0015_payments_status_unknown
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0016_payments_provider_ref"
down_revision: str | None = "0015_payments_status_unknown"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Types spelled out here, not imported from the application (see 0003).
BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
LONG_TEXT = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
TABLE = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_unicode_ci",
}


def closed_set(*values: str, name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.create_unique_constraint(
            op.f("uq_payments_provider_provider_ref"), ["provider", "provider_ref"]
        )
        batch.create_index("ix_payments_status_updated_at", ["status", "updated_at"])


def downgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.drop_index("ix_payments_status_updated_at")
        batch.drop_constraint(op.f("uq_payments_provider_provider_ref"), type_="unique")
