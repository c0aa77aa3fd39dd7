"""usernames unique per organisation, not across the installation

Two municipalities may both have an "anje"; an administrator creating a username learns only
whether her own organisation has it. The login finds the person by username and password (and
asks which organisation when both match in more than one).

Downgrade restores the installation-wide constraint; it fails while two organisations share a
username (rename one first).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 07:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch_op:
        batch_op.drop_constraint("uq_staff_username", type_="unique")
        batch_op.create_unique_constraint(
            "uq_staff_organisation_id", ["organisation_id", "username"]
        )
        batch_op.create_index("ix_staff_username", ["username"])


def downgrade() -> None:
    with op.batch_alter_table("staff") as batch_op:
        batch_op.drop_index("ix_staff_username")
        batch_op.drop_constraint("uq_staff_organisation_id", type_="unique")
        batch_op.create_unique_constraint("uq_staff_username", ["username"])
