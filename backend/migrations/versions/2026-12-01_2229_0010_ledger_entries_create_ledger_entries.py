"""create ledger_entries (two per transfer, with running balance and account version)

Revision ID: 0010_ledger_entries
Revises: 0009_ledger_transfers
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0010_ledger_entries"
down_revision: str | None = "0009_ledger_transfers"
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


def upgrade() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("id", BIGINT_ID, autoincrement=True, nullable=False),
        sa.Column("account_id", BIGINT_ID, nullable=False),
        sa.Column("transfer_id", BIGINT_ID, nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("account_version", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint(
            "account_version > 0", name=op.f("ck_ledger_entries_account_version_positive")
        ),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_ledger_entries_amount_nonzero")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_entries_account_id_ledger_accounts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["ledger_transfers.id"],
            name=op.f("fk_ledger_entries_transfer_id_ledger_transfers"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint(
            "account_id",
            "account_version",
            name=op.f("uq_ledger_entries_account_id_account_version"),
        ),
        sa.UniqueConstraint(
            "transfer_id", "account_id", name=op.f("uq_ledger_entries_transfer_id_account_id")
        ),
        **TABLE,
    )
    op.create_index("ix_ledger_entries_account_id_id", "ledger_entries", ["account_id", "id"])


def downgrade() -> None:
    # The table's indexes go with it (MySQL refuses to drop an index a foreign key needs).
    op.drop_table("ledger_entries")
