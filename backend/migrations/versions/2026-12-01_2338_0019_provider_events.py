"""create provider_events (raw notifications, once per provider event)

Revision ID: 0019_provider_events
Revises: 0018_payment_agreements
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0019_provider_events"
down_revision: str | None = "0018_payment_agreements"
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
        "provider_events",
        sa.Column("id", BIGINT_ID, autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("event_key", sa.String(length=255), nullable=False),
        sa.Column(
            "kind", closed_set("payment", "refund", "agreement", name="kind"), nullable=False
        ),
        sa.Column("out_trade_no", sa.String(length=64), nullable=True),
        sa.Column("out_refund_no", sa.String(length=64), nullable=True),
        sa.Column("external_agreement_no", sa.String(length=64), nullable=True),
        sa.Column("body", LONG_TEXT, nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=True),
        sa.Column("received_at", UTC_DATETIME, nullable=False),
        sa.Column("processed_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_events")),
        sa.UniqueConstraint(
            "provider", "event_key", name=op.f("uq_provider_events_provider_event_key")
        ),
        **TABLE,
    )
    op.create_index("ix_provider_events_processed_at_id", "provider_events", ["processed_at", "id"])


def downgrade() -> None:
    op.drop_table("provider_events")
