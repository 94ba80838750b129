"""plan versions: subscription_plans.previous_id (a price change makes a new plan)

Revision ID: 0011_payments_plan_versions
Revises: 0010_ledger_entries
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0011_payments_plan_versions"
down_revision: str | None = "0010_ledger_entries"
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
    with op.batch_alter_table("subscription_plans") as batch:
        batch.add_column(sa.Column("previous_id", BIGINT_ID, nullable=True))
        batch.create_foreign_key(
            op.f("fk_subscription_plans_previous_id_subscription_plans"),
            "subscription_plans",
            ["previous_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(op.f("ix_subscription_plans_previous_id"), ["previous_id"])


def downgrade() -> None:
    with op.batch_alter_table("subscription_plans") as batch:
        batch.drop_constraint(
            op.f("fk_subscription_plans_previous_id_subscription_plans"), type_="foreignkey"
        )
        batch.drop_index(op.f("ix_subscription_plans_previous_id"))
        batch.drop_column("previous_id")
