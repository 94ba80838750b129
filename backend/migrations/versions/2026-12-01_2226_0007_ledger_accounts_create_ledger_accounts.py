"""create ledger_accounts (one row per balance: owner, kind, provider, currency)

Revision ID: 0007_ledger_accounts
Revises: 0006_paid_excerpts
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0007_ledger_accounts"
down_revision: str | None = "0006_paid_excerpts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Types spelled out here, not imported from the application, so that this migration keeps
# meaning the same DDL whatever later code does.
BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
TABLE = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_unicode_ci",
}


def _kind(*values: str) -> sa.Enum:
    return sa.Enum(*values, name="kind", native_enum=False, create_constraint=True, length=24)


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", BIGINT_ID, autoincrement=True, nullable=False),
        sa.Column(
            "kind",
            _kind(
                "creator_pending",
                "creator_available",
                "creator_in_transit",
                "provider_clearing",
                "platform_fee_revenue",
                "processor_fees",
                "payout_clearing",
            ),
            nullable=False,
        ),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint(
            "(kind IN ('creator_pending', 'creator_available', 'creator_in_transit') AND owner_id > 0 AND provider = '') OR (kind IN ('provider_clearing') AND owner_id = 0 AND provider <> '') OR (kind IN ('platform_fee_revenue', 'processor_fees', 'payout_clearing') AND owner_id = 0 AND provider = '')",
            name=op.f("ck_ledger_accounts_owner_matches_kind"),
        ),
        sa.CheckConstraint("version >= 0", name=op.f("ck_ledger_accounts_version_nonnegative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint(
            "owner_id",
            "kind",
            "provider",
            "currency",
            name=op.f("uq_ledger_accounts_owner_id_kind_provider_currency"),
        ),
        **TABLE,
    )


def downgrade() -> None:
    # The table's indexes go with it (MySQL refuses to drop an index a foreign key needs).
    op.drop_table("ledger_accounts")
