"""create payout_accounts (where a creator is paid: WeChat openid or Alipay account)

Revision ID: 0021_payouts_accounts
Revises: 0020_idempotency_records
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0021_payouts_accounts"
down_revision: str | None = "0020_idempotency_records"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Types spelled out here, not imported from the application, so that this migration keeps
# meaning the same DDL whatever later code does.
BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
EXACT_128 = sa.String(128).with_variant(
    mysql.VARCHAR(128, collation="utf8mb4_bin"), "mysql", "mariadb"
)
TABLE = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_unicode_ci",
}


def _closed(*values: str, name: str, length: int = 16) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=length)


def upgrade() -> None:
    op.create_table(
        "payout_accounts",
        sa.Column("id", BIGINT_ID, autoincrement=True, nullable=False),
        sa.Column("creator_id", BIGINT_ID, nullable=False),
        sa.Column(
            "provider", _closed("wechatpay", "alipay", "sandbox", name="provider"), nullable=False
        ),
        sa.Column(
            "identity_type",
            _closed("openid", "alipay_user_id", "alipay_logon_id", "sandbox", name="identity_type"),
            nullable=False,
        ),
        sa.Column("identity", EXACT_128, nullable=False),
        sa.Column("real_name", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["users.id"],
            name=op.f("fk_payout_accounts_creator_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_accounts")),
        sa.UniqueConstraint(
            "creator_id",
            "provider",
            "identity",
            name=op.f("uq_payout_accounts_creator_id_provider_identity"),
        ),
        **TABLE,
    )


def downgrade() -> None:
    op.drop_table("payout_accounts")
