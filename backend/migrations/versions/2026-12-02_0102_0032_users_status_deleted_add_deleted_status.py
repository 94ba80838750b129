"""users.status: add deleted (an erased account's anonymised tombstone)

Revision ID: 0032_users_status_deleted
Revises: 0031_users_email_verified
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032_users_status_deleted"
down_revision: str | None = "0031_users_email_verified"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def closed_set(*values: str, name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


OLD = ("active", "disabled")
NEW = ("active", "disabled", "deleted")


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _switch(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("users", recreate="always") as batch:
            batch.alter_column(
                "status",
                existing_type=closed_set(*old, name="status"),
                type_=closed_set(*new, name="status"),
                existing_nullable=False,
            )
        return
    op.drop_constraint(op.f("ck_users_status"), "users", type_="check")
    op.create_check_constraint(op.f("ck_users_status"), "users", f"status IN ({_quoted(new)})")


def upgrade() -> None:
    _switch(OLD, NEW)


def downgrade() -> None:
    # A deleted account stays unusable as disabled.
    op.execute("UPDATE users SET status = 'disabled' WHERE status = 'deleted'")
    _switch(NEW, OLD)
