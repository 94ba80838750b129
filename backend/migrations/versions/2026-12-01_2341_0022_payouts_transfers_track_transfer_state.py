"""payouts: the payout account, the provider transfer's state and the sending schedule

The table was created with the payments schema (0003) but nothing wrote it before this release,
so the new NOT NULL columns need no backfill. Statuses gain ``cancelled`` (an unconfirmed WeChat
Pay transfer we cancelled), and the period columns become optional (a payout a creator requests
is not tied to a period).

Revision ID: 0022_payouts_transfers
Revises: 0021_payouts_accounts
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0022_payouts_transfers"
down_revision: str | None = "0021_payouts_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
OLD_STATUSES = ("pending", "in_transit", "paid", "failed")
NEW_STATUSES = (*OLD_STATUSES, "cancelled")


def _status_check(statuses: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{s}'" for s in statuses) + ")"


def upgrade() -> None:
    # batch: SQLite rebuilds the table (it cannot alter constraints); MySQL runs each ALTER.
    with op.batch_alter_table("payouts") as batch:
        batch.drop_constraint(op.f("ck_payouts_status"), type_="check")
        batch.create_check_constraint(op.f("ck_payouts_status"), _status_check(NEW_STATUSES))
        batch.alter_column("period_start", existing_type=UTC_DATETIME, nullable=True)
        batch.alter_column("period_end", existing_type=UTC_DATETIME, nullable=True)
        batch.add_column(sa.Column("payout_account_id", BIGINT_ID, nullable=True))
        batch.add_column(
            sa.Column("provider", sa.String(length=32), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("provider_status", sa.String(length=32), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("provider_ref", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("package_info", sa.String(length=1024), nullable=True))
        batch.add_column(sa.Column("failure_reason", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_attempt_at", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("sent_at", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("expires_at", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("finished_at", UTC_DATETIME, nullable=True))
        # The index before the foreign key, or MySQL would create one of its own for it.
        batch.create_index("ix_payouts_payout_account_id", ["payout_account_id"])
        batch.create_index("ix_payouts_next_attempt_at", ["next_attempt_at"])
        batch.create_foreign_key(
            op.f("fk_payouts_payout_account_id_payout_accounts"),
            "payout_accounts",
            ["payout_account_id"],
            ["id"],
            ondelete="RESTRICT",
        )
    # The server defaults only filled existing rows; the application always sets the values.
    with op.batch_alter_table("payouts") as batch:
        batch.alter_column("provider", existing_type=sa.String(32), server_default=None)
        batch.alter_column("provider_status", existing_type=sa.String(32), server_default=None)
        batch.alter_column("attempts", existing_type=sa.Integer(), server_default=None)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM payouts WHERE status = 'cancelled' OR period_start IS NULL"))
    with op.batch_alter_table("payouts") as batch:
        batch.drop_constraint(
            op.f("fk_payouts_payout_account_id_payout_accounts"), type_="foreignkey"
        )
        batch.drop_index("ix_payouts_next_attempt_at")
        batch.drop_index("ix_payouts_payout_account_id")
        for column in (
            "finished_at",
            "expires_at",
            "sent_at",
            "next_attempt_at",
            "attempts",
            "failure_reason",
            "package_info",
            "provider_ref",
            "provider_status",
            "provider",
            "payout_account_id",
        ):
            batch.drop_column(column)
        batch.alter_column("period_end", existing_type=UTC_DATETIME, nullable=False)
        batch.alter_column("period_start", existing_type=UTC_DATETIME, nullable=False)
        batch.drop_constraint(op.f("ck_payouts_status"), type_="check")
        batch.create_check_constraint(op.f("ck_payouts_status"), _status_check(OLD_STATUSES))
