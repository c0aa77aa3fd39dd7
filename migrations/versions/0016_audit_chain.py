"""audit chain: per-organisation hash chain over audit_event, append-only on PostgreSQL

Existing events are chained in id order (format v1 of server/audit.py's canonical form). On
PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE on audit_event, except DELETE in a
transaction that set ``screenvisit.purge`` to 'on' (the retention purge, which records itself).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 02:05:00
"""

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64

APPEND_ONLY = """
CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('screenvisit.purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""

events = sa.table(
    "audit_event",
    sa.column("id", sa.Integer()),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("organisation_id", sa.Integer()),
    sa.column("actor_staff_id", sa.Integer()),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("subject_kind", sa.String()),
    sa.column("subject_id", sa.String()),
    sa.column("detail", sa.JSON()),
    sa.column("remote", sa.String()),
    sa.column("chain", sa.Integer()),
    sa.column("seq", sa.Integer()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)
heads = sa.table(
    "audit_chain_head",
    sa.column("chain", sa.Integer()),
    sa.column("seq", sa.Integer()),
    sa.column("hash", sa.String()),
)


def _hash(row: Any, chain: int, seq: int, prev: str) -> str:
    at = row.at.replace(tzinfo=dt.UTC) if row.at.tzinfo is None else row.at
    fields = {
        "v": 1,
        "chain": chain,
        "seq": seq,
        "prev_hash": prev,
        "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "organisation_id": row.organisation_id,
        "actor_staff_id": row.actor_staff_id,
        "actor": row.actor,
        "action": row.action,
        "subject_kind": row.subject_kind,
        "subject_id": row.subject_id,
        "detail": row.detail,
        "remote": row.remote,
    }
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _backfill() -> None:
    bind = op.get_bind()
    chains: dict[int, tuple[int, str]] = {}
    rows = bind.execute(sa.select(events).order_by(events.c.id)).all()
    for row in rows:
        chain = row.organisation_id or 0
        seq, prev = chains.get(chain, (0, GENESIS))
        seq += 1
        digest = _hash(row, chain, seq, prev)
        bind.execute(
            events.update()
            .where(events.c.id == row.id)
            .values(chain=chain, seq=seq, prev_hash=prev, hash=digest)
        )
        chains[chain] = (seq, digest)
    if chains:
        bind.execute(
            heads.insert(),
            [{"chain": c, "seq": s, "hash": h} for c, (s, h) in sorted(chains.items())],
        )


def upgrade() -> None:
    op.create_table(
        "audit_chain_head",
        sa.Column("chain", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_audit_chain_head")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    _backfill()
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.alter_column("chain", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint("uq_audit_event_chain_seq", ["chain", "seq"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY)
        op.execute(
            "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION audit_event_append_only()")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_constraint("uq_audit_event_chain_seq", type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
        batch_op.drop_column("chain")
    op.drop_table("audit_chain_head")
