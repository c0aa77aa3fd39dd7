"""sealed outcome reasons: why a visit was missed or cancelled is free text about the citizen

Like 0017: no column type changes (the values stay text, ``v1:<key id>:<base64>``). Run with the
data keys, upgrade seals what is stored (else ``screenvisit keys rotate`` does; the app reads
plaintext either way); downgrade opens the values back to plaintext and needs the keys when any
is sealed.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 08:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, field name bound into the ciphertext), frozen at this revision.
SEALED = [("outcome", "reason", "outcome.reason")]


def _keyring() -> Any:
    # server.sealing.Keyring when run by screenvisit with its keys (duck-typed: no app code).
    return context.config.attributes.get("keyring")


def _rewrite(convert: Any) -> None:
    for table, column, where in SEALED:
        raw = sa.table(table, sa.column("id", sa.Integer), sa.column(column, sa.Text))
        rows = op.get_bind().execute(
            sa.select(raw.c.id, raw.c[column]).where(raw.c[column].is_not(None))
        )
        for row_id, stored in list(rows):
            fresh = convert(stored, where)
            if fresh != stored:
                op.get_bind().execute(
                    sa.update(raw).where(raw.c.id == row_id).values({column: fresh})
                )


def upgrade() -> None:
    keyring = _keyring()
    if keyring is not None:
        _rewrite(lambda v, w: v if keyring.is_current(v) else keyring.seal(keyring.open(v, w), w))


def downgrade() -> None:
    keyring = _keyring()
    if keyring is not None:
        _rewrite(keyring.open)
        return
    for table, column, _where in SEALED:
        raw = sa.table(table, sa.column(column, sa.Text))
        sealed = op.get_bind().scalar(
            sa.select(sa.func.count()).select_from(raw).where(raw.c[column].like("v1:%"))
        )
        if sealed:
            raise RuntimeError(
                f"{table}.{column} holds sealed values: downgrade with the data keys "
                "(server.migrate.downgrade(..., keyring=...)) so they can be opened"
            )
