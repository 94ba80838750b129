"""create ledger_transfers (amount > 0 from a debit to a different credit account)

Revision ID: 0009_ledger_transfers
Revises: 0008_ledger_journals
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0009_ledger_transfers"
down_revision: str | None = "0008_ledger_journals"
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
        "ledger_transfers",
        sa.Column("id", BIGINT_ID, autoincrement=True, nullable=False),
        sa.Column("journal_id", BIGINT_ID, nullable=False),
        sa.Column(
            "kind",
            _kind(
                "payment_captured",
                "platform_fee",
                "processor_fee",
                "hold_released",
                "refund",
                "fee_refunded",
                "payout_requested",
                "payout_settled",
                "payout_reversed",
                "reversal",
            ),
            nullable=False,
        ),
        sa.Column("debit_account_id", BIGINT_ID, nullable=False),
        sa.Column("credit_account_id", BIGINT_ID, nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reference_type", sa.String(length=32), nullable=False),
        sa.Column("reference_id", sa.BigInteger(), nullable=False),
        sa.Column("transfer_key", sa.String(length=160), nullable=False),
        sa.Column("reverses_transfer_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_ledger_transfers_amount_positive")),
        sa.CheckConstraint(
            "debit_account_id <> credit_account_id",
            name=op.f("ck_ledger_transfers_distinct_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["credit_account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_transfers_credit_account_id_ledger_accounts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["debit_account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_transfers_debit_account_id_ledger_accounts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["journal_id"],
            ["ledger_journals.id"],
            name=op.f("fk_ledger_transfers_journal_id_ledger_journals"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transfers")),
        sa.UniqueConstraint(
            "reverses_transfer_id", name=op.f("uq_ledger_transfers_reverses_transfer_id")
        ),
        sa.UniqueConstraint("transfer_key", name=op.f("uq_ledger_transfers_transfer_key")),
        **TABLE,
    )
    op.create_index(
        op.f("ix_ledger_transfers_credit_account_id"), "ledger_transfers", ["credit_account_id"]
    )
    op.create_index(
        op.f("ix_ledger_transfers_debit_account_id"), "ledger_transfers", ["debit_account_id"]
    )
    op.create_index(op.f("ix_ledger_transfers_journal_id"), "ledger_transfers", ["journal_id"])
    op.create_index(
        "ix_ledger_transfers_reference_type_reference_id",
        "ledger_transfers",
        ["reference_type", "reference_id"],
    )


def downgrade() -> None:
    # The table's indexes go with it (MySQL refuses to drop an index a foreign key needs).
    op.drop_table("ledger_transfers")
