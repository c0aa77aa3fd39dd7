"""login throttle keys: failures counted per username and address, per address, per username

The table only holds short-lived counters, so it is recreated rather than migrated: a
deployment forgets at most fifteen minutes of failed logins.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _create(key_column: sa.Column[str]) -> None:
    op.create_table(
        "login_throttle",
        key_column,
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint(key_column.name, name=op.f("pk_login_throttle")),
    )


def upgrade() -> None:
    op.drop_table("login_throttle")
    _create(sa.Column("key", sa.String(length=160), nullable=False))


def downgrade() -> None:
    op.drop_table("login_throttle")
    _create(sa.Column("username", sa.String(length=64), nullable=False))
