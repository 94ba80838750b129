"""create reconciliation_mismatches (missing on either side, or amounts that differ)

Revision ID: 0025_payouts_recon_mismatches
Revises: 0024_payouts_recon_runs
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0025_payouts_recon_mismatches"
down_revision: str | None = "0024_payouts_recon_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
TABLE = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_unicode_ci",
}


def _closed(*values: str, name: str, length: int = 16) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=length)


def upgrade() -> None:
    op.create_table(
        "reconciliation_mismatches",
        sa.Column("id", BIGINT_ID, autoincrement=True, nullable=False),
        sa.Column("run_id", BIGINT_ID, nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column(
            "kind",
            _closed(
                "missing_in_ledger",
                "missing_in_statement",
                "amount_mismatch",
                name="kind",
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("item_kind", _closed("payment", "refund", name="item_kind"), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column("statement_amount", sa.BigInteger(), nullable=True),
        sa.Column("ledger_amount", sa.BigInteger(), nullable=True),
        sa.Column("resolved_at", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["reconciliation_runs.id"],
            name=op.f("fk_reconciliation_mismatches_run_id_reconciliation_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_mismatches")),
        **TABLE,
    )
    op.create_index("ix_reconciliation_mismatches_run_id", "reconciliation_mismatches", ["run_id"])
    op.create_index(
        "ix_reconciliation_mismatches_provider_resolved_at",
        "reconciliation_mismatches",
        ["provider", "resolved_at"],
    )
    op.create_index(
        "ix_reconciliation_mismatches_reference", "reconciliation_mismatches", ["reference"]
    )


def downgrade() -> None:
    op.drop_table("reconciliation_mismatches")
