"""create refunds (several partial refunds per payment)

Revision ID: 0017_refunds
Revises: 0016_payments_provider_ref
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0017_refunds"
down_revision: str | None = "0016_payments_provider_ref"
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
    op.create_table(
        "refunds",
        sa.Column("id", BIGINT_ID, autoincrement=True, nullable=False),
        sa.Column("payment_id", BIGINT_ID, nullable=False),
        sa.Column("requested_by", BIGINT_ID, nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "status",
            closed_set("pending", "succeeded", "failed", "unknown", name="status"),
            nullable=False,
        ),
        sa.Column("out_refund_no", sa.String(length=64), nullable=False),
        sa.Column("provider_ref", sa.String(length=128), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("refunded_at", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_refunds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_refunds_payment_id_payments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["users.id"],
            name=op.f("fk_refunds_requested_by_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("out_refund_no", name=op.f("uq_refunds_out_refund_no")),
        **TABLE,
    )
    op.create_index("ix_refunds_payment_id_id", "refunds", ["payment_id", "id"])
    op.create_index(op.f("ix_refunds_requested_by"), "refunds", ["requested_by"])
    op.create_index("ix_refunds_status_updated_at", "refunds", ["status", "updated_at"])


def downgrade() -> None:
    op.drop_table("refunds")
