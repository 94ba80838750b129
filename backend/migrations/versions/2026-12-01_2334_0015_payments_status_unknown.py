"""payments.status: add unknown, drop refunded (refunds are rows of their own)

Revision ID: 0015_payments_status_unknown
Revises: 0014_payments_order_columns
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0015_payments_status_unknown"
down_revision: str | None = "0014_payments_order_columns"
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


OLD = ("pending", "succeeded", "failed", "refunded")
NEW = ("pending", "succeeded", "failed", "unknown")


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _switch(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("payments", recreate="always") as batch:
            batch.alter_column(
                "status",
                existing_type=closed_set(*old, name="status"),
                type_=closed_set(*new, name="status"),
                existing_nullable=False,
            )
        return
    op.drop_constraint(op.f("ck_payments_status"), "payments", type_="check")
    op.create_check_constraint(
        op.f("ck_payments_status"), "payments", f"status IN ({_quoted(new)})"
    )


def upgrade() -> None:
    # A refund no longer changes the payment's status (see the refunds table).
    op.execute("UPDATE payments SET status = 'succeeded' WHERE status = 'refunded'")
    _switch(OLD, NEW)


def downgrade() -> None:
    op.execute("UPDATE payments SET status = 'pending' WHERE status = 'unknown'")
    _switch(NEW, OLD)
