"""agreements: the "Aftaler i dag" sheet from visitation and start-up meetings

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 08:35:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agreement_sheet",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("meeting_date", sa.Date(), nullable=False),
        sa.Column("participants", sa.JSON(), nullable=False),
        sa.Column("topics", sa.Text(), nullable=True),
        sa.Column("citizen_says", sa.Text(), nullable=True),
        sa.Column("relatives_say", sa.Text(), nullable=True),
        sa.Column("citizen_does", sa.Text(), nullable=True),
        sa.Column("municipality_does", sa.Text(), nullable=True),
        sa.Column("contact_phone", sa.String(length=40), nullable=True),
        sa.Column("author_staff_id", sa.Integer(), nullable=True),
        sa.Column("updated_by_staff_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_staff_id"],
            ["staff.id"],
            name=op.f("fk_agreement_sheet_author_staff_id_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizen.id"],
            name=op.f("fk_agreement_sheet_citizen_id_citizen"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_staff_id"],
            ["staff.id"],
            name=op.f("fk_agreement_sheet_updated_by_staff_id_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["visit.id"],
            name=op.f("fk_agreement_sheet_visit_id_visit"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_sheet")),
    )
    with op.batch_alter_table("agreement_sheet", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agreement_sheet_citizen_id"), ["citizen_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("agreement_sheet", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreement_sheet_citizen_id"))
    op.drop_table("agreement_sheet")
