"""create payout_idempotency_keys (the stored answers of POST /payouts, kept 24 hours)

Revision ID: 0023_payouts_idempotency
Revises: 0022_payouts_transfers
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0023_payouts_idempotency"
down_revision: str | None = "0022_payouts_transfers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
EXACT_64 = sa.String(64).with_variant(
    mysql.VARCHAR(64, collation="utf8mb4_bin"), "mysql", "mariadb"
)
TABLE = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_unicode_ci",
}


def upgrade() -> None:
    op.create_table(
        "payout_idempotency_keys",
        sa.Column("id", BIGINT_ID, autoincrement=True, nullable=False),
        sa.Column("creator_id", BIGINT_ID, nullable=False),
        sa.Column("idempotency_key", EXACT_64, nullable=False),
        sa.Column("request_hash", sa.CHAR(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["users.id"],
            name=op.f("fk_payout_idempotency_keys_creator_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_idempotency_keys")),
        sa.UniqueConstraint(
            "creator_id",
            "idempotency_key",
            name=op.f("uq_payout_idempotency_keys_creator_id_idempotency_key"),
        ),
        **TABLE,
    )
    op.create_index(
        "ix_payout_idempotency_keys_created_at", "payout_idempotency_keys", ["created_at"]
    )


def downgrade() -> None:
    op.drop_table("payout_idempotency_keys")
