"""create job_outbox (the transactional outbox for background jobs)

Revision ID: 0004_outbox
Revises: 0003
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0004_outbox"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "job_outbox",
        sa.Column("id", BIGINT_ID, autoincrement=True, nullable=False),
        sa.Column("function", sa.String(length=100), nullable=False),
        sa.Column("kwargs", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("sent_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_outbox")),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )
    op.create_index("ix_job_outbox_sent_at_id", "job_outbox", ["sent_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_job_outbox_sent_at_id", table_name="job_outbox")
    op.drop_table("job_outbox")
