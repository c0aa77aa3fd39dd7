"""team inbox: alerts and care tasks become inbox items with a state

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 19:10:00.000000

Every alert and care task is copied into `inbox_item` (acknowledged alerts and done tasks as
"done", with who closed them and when), then the two tables are dropped.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = (
    'missed_visit', 'tablet_offline', 'selftest_failed', 'call_back_request', 'physical_visit',
    'call_back', 'relative_notice',
)
STATES = ('open', 'taken', 'done', 'dismissed')
COLUMNS = (
    'organisation_id, team_id, citizen_id, visit_id, kind, message, state, due_at, created_at,'
    ' created_by_staff_id, closed_at, closed_by_staff_id'
)


def upgrade() -> None:
    op.create_table('inbox_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=True),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum(*KINDS, name='inboxkind', native_enum=False, length=32), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('state', sa.Enum(*STATES, name='inboxstate', native_enum=False, length=32), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('taken_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalated_to', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizen.id'], name=op.f('fk_inbox_item_citizen_id_citizen'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['closed_by_staff_id'], ['staff.id'], name=op.f('fk_inbox_item_closed_by_staff_id_staff')),
    sa.ForeignKeyConstraint(['created_by_staff_id'], ['staff.id'], name=op.f('fk_inbox_item_created_by_staff_id_staff')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_inbox_item_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['taken_by_staff_id'], ['staff.id'], name=op.f('fk_inbox_item_taken_by_staff_id_staff')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_inbox_item_team_id_team')),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], name=op.f('fk_inbox_item_visit_id_visit'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_item'))
    )
    with op.batch_alter_table('inbox_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_item_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbox_item_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index('ix_inbox_item_team_id_state', ['team_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbox_item_visit_id'), ['visit_id'], unique=False)

    op.execute(
        f"INSERT INTO inbox_item ({COLUMNS}) SELECT organisation_id, team_id, citizen_id, visit_id,"
        " kind, message, CASE WHEN acknowledged_at IS NULL THEN 'open' ELSE 'done' END, NULL,"
        " created_at, NULL, acknowledged_at, acknowledged_by_staff_id FROM alert ORDER BY id"
    )
    op.execute(
        f"INSERT INTO inbox_item ({COLUMNS}) SELECT organisation_id, team_id, citizen_id, visit_id,"
        " kind, COALESCE(reason, ''), CASE WHEN done_at IS NULL THEN 'open' ELSE 'done' END,"
        " due_at, created_at, created_by_staff_id, done_at, done_by_staff_id FROM care_task"
        " ORDER BY id"
    )
    with op.batch_alter_table('care_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_task_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_care_task_team_id'))
    op.drop_table('care_task')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_created_at'))
        batch_op.drop_index(batch_op.f('ix_alert_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_alert_team_id'))
    op.drop_table('alert')


def downgrade() -> None:
    op.create_table('alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=True),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('missed_visit', 'tablet_offline', 'selftest_failed', 'call_back_request', name='alertkind', native_enum=False, length=32), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by_staff_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by_staff_id'], ['staff.id'], name=op.f('fk_alert_acknowledged_by_staff_id_staff')),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizen.id'], name=op.f('fk_alert_citizen_id_citizen'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_alert_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_alert_team_id_team')),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], name=op.f('fk_alert_visit_id_visit'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert'))
    )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_team_id'), ['team_id'], unique=False)

    op.create_table('care_task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('physical_visit', 'call_back', name='taskkind', native_enum=False, length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_by_staff_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizen.id'], name=op.f('fk_care_task_citizen_id_citizen'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_staff_id'], ['staff.id'], name=op.f('fk_care_task_created_by_staff_id_staff')),
    sa.ForeignKeyConstraint(['done_by_staff_id'], ['staff.id'], name=op.f('fk_care_task_done_by_staff_id_staff')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_care_task_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_care_task_team_id_team')),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], name=op.f('fk_care_task_visit_id_visit'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_task'))
    )
    with op.batch_alter_table('care_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_task_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_care_task_team_id'), ['team_id'], unique=False)

    # ### end Alembic commands ###

    op.execute(
        "INSERT INTO alert (organisation_id, team_id, citizen_id, visit_id, kind, message,"
        " created_at, acknowledged_at, acknowledged_by_staff_id) SELECT organisation_id, team_id,"
        " citizen_id, visit_id, kind, SUBSTR(message, 1, 500), created_at, closed_at,"
        " closed_by_staff_id FROM inbox_item WHERE kind IN ('missed_visit', 'tablet_offline',"
        " 'selftest_failed', 'call_back_request') ORDER BY id"
    )
    op.execute(
        "INSERT INTO care_task (organisation_id, team_id, citizen_id, visit_id, kind, reason,"
        " due_at, created_at, created_by_staff_id, done_at, done_by_staff_id) SELECT"
        " organisation_id, team_id, citizen_id, visit_id, kind, message, due_at, created_at,"
        " created_by_staff_id, closed_at, closed_by_staff_id FROM inbox_item WHERE kind IN"
        " ('physical_visit', 'call_back') AND citizen_id IS NOT NULL ORDER BY id"
    )
    with op.batch_alter_table('inbox_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_item_visit_id'))
        batch_op.drop_index('ix_inbox_item_team_id_state')
        batch_op.drop_index(batch_op.f('ix_inbox_item_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_inbox_item_created_at'))
    op.drop_table('inbox_item')
