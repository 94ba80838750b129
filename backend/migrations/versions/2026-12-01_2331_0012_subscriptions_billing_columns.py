"""subscriptions: renewal and grace columns, one subscription per reader and plan

Revision ID: 0012_subscriptions_billing
Revises: 0011_payments_plan_versions
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0012_subscriptions_billing"
down_revision: str | None = "0011_payments_plan_versions"
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
    # One ALTER on MySQL: the columns mean nothing apart (renewal state of one row).
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(
            sa.Column("auto_renew", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("period_number", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("renewal_attempt", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("renew_at", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("grace_ends_at", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("reminded_at", UTC_DATETIME, nullable=True))
        batch.create_unique_constraint(
            op.f("uq_subscriptions_plan_id_subscriber_id"), ["plan_id", "subscriber_id"]
        )
        batch.create_index("ix_subscriptions_renew_at", ["renew_at"])
        batch.create_index(
            "ix_subscriptions_status_current_period_end", ["status", "current_period_end"]
        )


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_index("ix_subscriptions_status_current_period_end")
        batch.drop_index("ix_subscriptions_renew_at")
        batch.drop_constraint(op.f("uq_subscriptions_plan_id_subscriber_id"), type_="unique")
        for column in (
            "reminded_at",
            "grace_ends_at",
            "renew_at",
            "renewal_attempt",
            "period_number",
            "auto_renew",
        ):
            batch.drop_column(column)
