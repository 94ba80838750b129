"""ledger: the provider's number of each payment and refund journal

Reconciliation matches a provider statement's order and refund numbers against the ledger. The
ledger now records the number when it posts a payment (``payments.out_trade_no``) or a refund
(``refunds.out_refund_no``); journals posted before this release get theirs from those tables.

Revision ID: 0045_ledger_external_reference
Revises: 0025_payouts_recon_mismatches
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0045_ledger_external_reference"
down_revision: str | None = "0025_payouts_recon_mismatches"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

journals = sa.table(
    "ledger_journals",
    sa.column("journal_key", sa.String),
    sa.column("kind", sa.String),
    sa.column("reference_id", sa.BigInteger),
    sa.column("external_reference", sa.String),
)
payments = sa.table(
    "payments", sa.column("id", sa.BigInteger), sa.column("out_trade_no", sa.String)
)
refunds = sa.table("refunds", sa.column("id", sa.BigInteger), sa.column("out_refund_no", sa.String))


def upgrade() -> None:
    with op.batch_alter_table("ledger_journals") as batch:
        batch.add_column(sa.Column("external_reference", sa.String(length=64), nullable=True))
        batch.create_index("ix_ledger_journals_external_reference", ["external_reference"])
    order_no = (
        sa.select(payments.c.out_trade_no)
        .where(payments.c.id == journals.c.reference_id)
        .scalar_subquery()
    )
    op.execute(
        journals.update().where(journals.c.kind == "payment").values(external_reference=order_no)
    )
    refund_key = sa.literal("refund:", sa.String) + sa.cast(refunds.c.id, sa.String)
    refund_no = (
        sa.select(refunds.c.out_refund_no)
        .where(refund_key == journals.c.journal_key)
        .scalar_subquery()
    )
    op.execute(
        journals.update().where(journals.c.kind == "refund").values(external_reference=refund_no)
    )


def downgrade() -> None:
    with op.batch_alter_table("ledger_journals") as batch:
        batch.drop_index("ix_ledger_journals_external_reference")
        batch.drop_column("external_reference")
