"""create payment_agreements (recurring-charge agreements)

Revision ID: 0018_payment_agreements
Revises: 0017_refunds
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0018_payment_agreements"
down_revision: str | None = "0017_refunds"
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
        "payment_agreements",
        sa.Column("id", BIGINT_ID, autoincrement=True, nullable=False),
        sa.Column("user_id", BIGINT_ID, nullable=False),
        sa.Column("subscription_id", BIGINT_ID, nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("external_agreement_no", sa.String(length=64), nullable=False),
        sa.Column("agreement_no", sa.String(length=64), nullable=True),
        sa.Column(
            "status", closed_set("pending", "signed", "unsigned", name="status"), nullable=False
        ),
        sa.Column("max_amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("signed_at", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_payment_agreements_subscription_id_subscriptions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_payment_agreements_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_agreements")),
        sa.UniqueConstraint(
            "external_agreement_no", name=op.f("uq_payment_agreements_external_agreement_no")
        ),
        sa.UniqueConstraint(
            "provider", "agreement_no", name=op.f("uq_payment_agreements_provider_agreement_no")
        ),
        **TABLE,
    )
    op.create_index(
        "ix_payment_agreements_subscription_id_status",
        "payment_agreements",
        ["subscription_id", "status"],
    )
    op.create_index(op.f("ix_payment_agreements_user_id"), "payment_agreements", ["user_id"])


def downgrade() -> None:
    op.drop_table("payment_agreements")
