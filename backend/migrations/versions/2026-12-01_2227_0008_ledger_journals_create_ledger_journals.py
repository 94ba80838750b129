"""create ledger_journals (one row per posted event, its idempotency key)

Revision ID: 0008_ledger_journals
Revises: 0007_ledger_accounts
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0008_ledger_journals"
down_revision: str | None = "0007_ledger_accounts"
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
        "ledger_journals",
        sa.Column("id", BIGINT_ID, autoincrement=True, nullable=False),
        sa.Column("journal_key", sa.String(length=128), nullable=False),
        sa.Column(
            "kind",
            _kind(
                "payment",
                "hold_release",
                "refund",
                "payout_request",
                "payout_settlement",
                "payout_reversal",
                "reversal",
            ),
            nullable=False,
        ),
        sa.Column("reference_type", sa.String(length=32), nullable=False),
        sa.Column("reference_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_journals")),
        sa.UniqueConstraint("journal_key", name=op.f("uq_ledger_journals_journal_key")),
        **TABLE,
    )
    op.create_index("ix_ledger_journals_kind_created_at", "ledger_journals", ["kind", "created_at"])
    op.create_index(
        "ix_ledger_journals_reference_type_reference_id_kind",
        "ledger_journals",
        ["reference_type", "reference_id", "kind"],
    )


def downgrade() -> None:
    # The table's indexes go with it (MySQL refuses to drop an index a foreign key needs).
    op.drop_table("ledger_journals")
