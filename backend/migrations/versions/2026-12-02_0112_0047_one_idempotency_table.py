"""one idempotency table: payouts use ``idempotency_records`` (scope ``payout``) like checkouts
and refunds; idempotency keys compare byte for byte

``payout_idempotency_keys`` held the same kind of record with its own rule, which let concurrent
requests sharing a key deadlock when the first was refused. Its records live 24 hours, so none
needs to move: a retry of an in-flight payout within the release finds its payout by digest
(``payouts.idempotency_key``) and is refused rather than paid twice. Keys are client-made tokens,
so ``idempotency_records.key`` becomes utf8mb4_bin: ``abc`` and ``ABC`` are two keys.

Revision ID: 0047_one_idempotency_table
Revises: 0046_payouts_sealed_real_names
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0047_one_idempotency_table"
down_revision: str | None = "0046_payouts_sealed_real_names"
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


def _key_collation(collation: str) -> None:
    if op.get_bind().dialect.name not in ("mysql", "mariadb"):
        return  # SQLite compares bytes already
    op.alter_column(
        "idempotency_records",
        "key",
        existing_type=sa.String(255),
        type_=mysql.VARCHAR(255, charset="utf8mb4", collation=collation),
        existing_nullable=False,
    )


def _create_payout_keys() -> None:
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


def upgrade() -> None:
    op.drop_table("payout_idempotency_keys")
    _key_collation("utf8mb4_bin")


def downgrade() -> None:
    _key_collation("utf8mb4_unicode_ci")
    _create_payout_keys()
