"""clear excerpts derived from the bodies of subscribers-only items

Until now an item without a written excerpt got the first 160 characters of its body as one, and
the public saw it, subscribers-only or not. A subscribers-only item now shows only an excerpt its
author wrote (sharestack.content.rules.excerpt_for); this clears the derived ones already stored,
in the items and in their version history. A derived excerpt is recognised as the application
made it: the body's whitespace collapsed, cut at 159 characters plus an ellipsis.

Not reversible: the cleared text stays in the bodies, and putting it back would reopen the leak.

Revision ID: 0006_paid_excerpts
Revises: 0005_exact_identifiers
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_paid_excerpts"
down_revision: str | None = "0005_exact_identifiers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXCERPT_LENGTH = 160  # as the application derived them when this migration was written
BATCH = 500


def _derived(body: str) -> str:
    text = " ".join(body.split())
    return text if len(text) <= EXCERPT_LENGTH else text[: EXCERPT_LENGTH - 1] + "…"


def _clear(table: str) -> None:
    rows = sa.table(
        table,
        sa.column("id", sa.BigInteger),
        sa.column("visibility", sa.String),
        sa.column("excerpt", sa.String),
        sa.column("body", sa.Text),
    )
    conn = op.get_bind()
    last = 0
    while True:
        page = conn.execute(
            sa.select(rows.c.id, rows.c.excerpt, rows.c.body)
            .where(rows.c.visibility == "subscribers", rows.c.excerpt != "", rows.c.id > last)
            .order_by(rows.c.id)
            .limit(BATCH)
        ).all()
        if not page:
            return
        last = page[-1].id
        derived = [row.id for row in page if row.excerpt == _derived(row.body)]
        if derived:
            conn.execute(sa.update(rows).where(rows.c.id.in_(derived)).values(excerpt=""))


def upgrade() -> None:
    _clear("contents")
    _clear("content_versions")


def downgrade() -> None:
    pass  # see the docstring: the derived excerpts are not put back
