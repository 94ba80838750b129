"""payments: kind, out_trade_no, refunded_amount

Revision ID: 0014_payments_order_columns
Revises: 0013_subscription_events
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0014_payments_order_columns"
down_revision: str | None = "0013_subscription_events"
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
    # No API wrote payments before this revision, so the table is empty everywhere and
    # out_trade_no can be NOT NULL at once.
    with op.batch_alter_table("payments") as batch:
        batch.add_column(
            sa.Column(
                "kind",
                closed_set("checkout", "renewal", name="kind"),
                nullable=False,
                server_default="checkout",
            )
        )
        batch.add_column(
            sa.Column("refunded_amount", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("out_trade_no", sa.String(length=32), nullable=False))
        batch.create_unique_constraint(op.f("uq_payments_out_trade_no"), ["out_trade_no"])
        batch.create_check_constraint(
            op.f("ck_payments_refunded_within_amount"),
            "refunded_amount >= 0 AND refunded_amount <= amount",
        )


def downgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.drop_constraint(op.f("ck_payments_refunded_within_amount"), type_="check")
        batch.drop_constraint(op.f("uq_payments_out_trade_no"), type_="unique")
        batch.drop_column("out_trade_no")
        batch.drop_column("refunded_amount")
        batch.drop_constraint(op.f("ck_payments_kind"), type_="check")
        batch.drop_column("kind")
