"""payouts: payees' real names sealed at rest, with a masked copy for display

``payout_accounts.real_name`` held the name in clear. It becomes ``real_name_sealed``
(AES-256-GCM, ``sharestack.sealing``, bound to the creator) and ``real_name_masked`` (``张**``,
what the API shows). Existing names are sealed with the running deployment's keys; a downgrade
opens them again.

Revision ID: 0046_payouts_sealed_real_names
Revises: 0045_ledger_external_reference
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sharestack.config import Settings, get_settings
from sharestack.payouts.rules import mask_name, name_context
from sharestack.sealing import Sealer

revision: str = "0046_payouts_sealed_real_names"
down_revision: str | None = "0045_ledger_external_reference"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

accounts = sa.table(
    "payout_accounts",
    sa.column("id", sa.BigInteger),
    sa.column("creator_id", sa.BigInteger),
    sa.column("real_name", sa.String),
    sa.column("real_name_sealed", sa.String),
    sa.column("real_name_masked", sa.String),
)


def _sealer() -> Sealer:
    settings: Settings = op.get_context().config.attributes.get("settings") or get_settings()  # type: ignore[union-attr]
    return Sealer.from_config(settings.secret_key, settings.data_encryption_keys)


def upgrade() -> None:
    with op.batch_alter_table("payout_accounts") as batch:
        batch.add_column(sa.Column("real_name_sealed", sa.String(length=400), nullable=True))
        batch.add_column(sa.Column("real_name_masked", sa.String(length=64), nullable=True))
    sealer, conn = _sealer(), op.get_bind()
    named = conn.execute(
        sa.select(accounts.c.id, accounts.c.creator_id, accounts.c.real_name).where(
            accounts.c.real_name.is_not(None)
        )
    )
    for account_id, creator_id, name in named.all():
        conn.execute(
            accounts.update()
            .where(accounts.c.id == account_id)
            .values(
                real_name_sealed=sealer.seal(name, context=name_context(creator_id)),
                real_name_masked=mask_name(name),
            )
        )
    with op.batch_alter_table("payout_accounts") as batch:
        batch.drop_column("real_name")


def downgrade() -> None:
    with op.batch_alter_table("payout_accounts") as batch:
        batch.add_column(sa.Column("real_name", sa.String(length=64), nullable=True))
    sealer, conn = _sealer(), op.get_bind()
    sealed = conn.execute(
        sa.select(accounts.c.id, accounts.c.creator_id, accounts.c.real_name_sealed).where(
            accounts.c.real_name_sealed.is_not(None)
        )
    )
    for account_id, creator_id, value in sealed.all():
        name = sealer.open(value, context=name_context(creator_id))
        conn.execute(accounts.update().where(accounts.c.id == account_id).values(real_name=name))
    with op.batch_alter_table("payout_accounts") as batch:
        batch.drop_column("real_name_masked")
        batch.drop_column("real_name_sealed")
