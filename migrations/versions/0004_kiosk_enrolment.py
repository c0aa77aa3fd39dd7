"""kiosk enrolment: pairing codes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 07:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('kiosk_pairing',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('client_key', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=True),
    sa.Column('approved_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('kiosk_id', sa.Integer(), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['approved_by_staff_id'], ['staff.id'], name=op.f('fk_kiosk_pairing_approved_by_staff_id_staff')),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizen.id'], name=op.f('fk_kiosk_pairing_citizen_id_citizen'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['kiosk_id'], ['kiosk_device.id'], name=op.f('fk_kiosk_pairing_kiosk_id_kiosk_device'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kiosk_pairing')),
    sa.UniqueConstraint('secret_hash', name=op.f('uq_kiosk_pairing_secret_hash'))
    )
    with op.batch_alter_table('kiosk_pairing', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kiosk_pairing_client_key'), ['client_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_kiosk_pairing_code_hash'), ['code_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_kiosk_pairing_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('kiosk_pairing', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kiosk_pairing_created_at'))
        batch_op.drop_index(batch_op.f('ix_kiosk_pairing_code_hash'))
        batch_op.drop_index(batch_op.f('ix_kiosk_pairing_client_key'))

    op.drop_table('kiosk_pairing')
