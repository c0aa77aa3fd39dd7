"""usernames unique per organisation, not across the installation

Two municipalities may both have an "anje"; an administrator creating a username learns only
whether her own organisation has it. The login finds the person by username and password (and
asks which organisation when both match in more than one).

On SQLite the constraint can only change by rebuilding the staff table, and with foreign keys on
dropping the old one fails while other tables point at it; the setting cannot change inside a
transaction, so the work of earlier revisions is committed first (alembic has stamped them).

Downgrade restores the installation-wide constraint; it fails while two organisations share a
username (rename one first).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 07:00:00
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


@contextmanager
def _foreign_keys_off() -> Iterator[None]:
    """On SQLite: foreign keys off while the staff table is rebuilt, checked afterwards."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    raw = bind.connection.dbapi_connection
    assert raw is not None
    raw.commit()
    bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        yield
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"foreign keys broken by the staff rebuild: {broken[:5]}")
        raw.commit()
    finally:
        bind.exec_driver_sql("PRAGMA foreign_keys=ON")


def upgrade() -> None:
    with _foreign_keys_off(), op.batch_alter_table("staff") as batch_op:
        batch_op.drop_constraint("uq_staff_username", type_="unique")
        batch_op.create_unique_constraint(
            "uq_staff_organisation_id", ["organisation_id", "username"]
        )
        batch_op.create_index("ix_staff_username", ["username"])


def downgrade() -> None:
    with _foreign_keys_off(), op.batch_alter_table("staff") as batch_op:
        batch_op.drop_index("ix_staff_username")
        batch_op.drop_constraint("uq_staff_organisation_id", type_="unique")
        batch_op.create_unique_constraint("uq_staff_username", ["username"])
