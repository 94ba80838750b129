"""create subscription_events (the append-only log of state changes)

Revision ID: 0013_subscription_events
Revises: 0012_subscriptions_billing
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0013_subscription_events"
down_revision: str | None = "0012_subscriptions_billing"
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


STATUSES = ("incomplete", "trialing", "active", "past_due", "canceled", "expired")


def upgrade() -> None:
    op.create_table(
        "subscription_events",
        sa.Column("id", BIGINT_ID, autoincrement=True, nullable=False),
        sa.Column("subscription_id", BIGINT_ID, nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("from_status", closed_set(*STATUSES, name="from_status"), nullable=False),
        sa.Column("to_status", closed_set(*STATUSES, name="to_status"), nullable=False),
        sa.Column("payment_id", sa.BigInteger(), nullable=True),
        sa.Column("period_end", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_subscription_events_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_events")),
        **TABLE,
    )
    op.create_index(
        "ix_subscription_events_subscription_id_id",
        "subscription_events",
        ["subscription_id", "id"],
    )


def downgrade() -> None:
    op.drop_table("subscription_events")
