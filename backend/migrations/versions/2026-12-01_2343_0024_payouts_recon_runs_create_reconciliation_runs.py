"""create reconciliation_runs (one provider statement of one day compared with the ledger)

Revision ID: 0024_payouts_recon_runs
Revises: 0023_payouts_idempotency
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0024_payouts_recon_runs"
down_revision: str | None = "0023_payouts_idempotency"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
TABLE = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_unicode_ci",
}


def upgrade() -> None:
    op.create_table(
        "reconciliation_runs",
        sa.Column("id", BIGINT_ID, autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("statement_date", sa.Date(), nullable=False),
        sa.Column("statement_lines", sa.Integer(), nullable=False),
        sa.Column("ledger_items", sa.Integer(), nullable=False),
        sa.Column("mismatches", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_runs")),
        sa.UniqueConstraint(
            "provider",
            "statement_date",
            name=op.f("uq_reconciliation_runs_provider_statement_date"),
        ),
        **TABLE,
    )


def downgrade() -> None:
    op.drop_table("reconciliation_runs")
