"""outcome integrity: one outcome in force per visit, observations linked to their outcome

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 08:36:00.000000

Before the unique indexes are created, a visit whose outcomes already broke the rule (two first
outcomes after a double tap, or two amendments of one outcome) has its outcomes relinked into
one chain in the order they were written (by id), so no row is lost and the newest is in force.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _relink_broken_chains() -> None:
    """Make each visit's outcomes a single chain where they are not one already."""
    bind = op.get_bind()
    outcome = sa.table(
        'outcome', sa.column('id', sa.Integer), sa.column('visit_id', sa.Integer),
        sa.column('amends_id', sa.Integer),
    )
    rows = bind.execute(
        sa.select(outcome.c.id, outcome.c.visit_id, outcome.c.amends_id).order_by(outcome.c.id)
    ).all()
    by_visit: dict[int, list[tuple[int, int | None]]] = {}
    for id_, visit_id, amends_id in rows:
        by_visit.setdefault(visit_id, []).append((id_, amends_id))
    for chain in by_visit.values():
        firsts = sum(1 for _, amends in chain if amends is None)
        amended = [amends for _, amends in chain if amends is not None]
        if firsts == 1 and len(amended) == len(set(amended)):
            continue
        previous = None
        for id_, _ in chain:
            bind.execute(
                sa.update(outcome).where(outcome.c.id == id_).values(amends_id=previous)
            )
            previous = id_


def upgrade() -> None:
    with op.batch_alter_table('observation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_observation_outcome_id'), ['outcome_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_observation_outcome_id_outcome'), 'outcome', ['outcome_id'], ['id'], ondelete='SET NULL')

    _relink_broken_chains()
    with op.batch_alter_table('outcome', schema=None) as batch_op:
        batch_op.create_index('uq_outcome_amends_id', ['amends_id'], unique=True)
        batch_op.create_index('uq_outcome_first_per_visit', ['visit_id'], unique=True, sqlite_where=sa.text('amends_id IS NULL'), postgresql_where=sa.text('amends_id IS NULL'))


def downgrade() -> None:
    with op.batch_alter_table('outcome', schema=None) as batch_op:
        batch_op.drop_index('uq_outcome_first_per_visit', sqlite_where=sa.text('amends_id IS NULL'), postgresql_where=sa.text('amends_id IS NULL'))
        batch_op.drop_index('uq_outcome_amends_id')

    with op.batch_alter_table('observation', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_observation_outcome_id_outcome'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_observation_outcome_id'))
        batch_op.drop_column('outcome_id')
