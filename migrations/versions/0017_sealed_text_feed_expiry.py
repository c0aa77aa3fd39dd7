"""sealed text, feed expiry: seal free-text health data; calendar feeds get expires_at

Sealed values are text, ``v1:<key id>:<base64>``: the meeting dialogue's theme notes change from
JSON to text (holding the same JSON until sealed); no other column changes type. Run with the
data keys (``screenvisit migrate``/``serve --migrate``), upgrade seals the plaintext already
stored; run without them (a bare ``alembic upgrade``) it leaves that to ``screenvisit keys
rotate`` — the app reads plaintext either way. Downgrade opens every sealed value back to
plaintext, so the code before this revision can read it; it needs the keys when any exists.

Feeds made before this revision keep ``expires_at`` empty: they expire ``FEED_DAYS`` after
they were created (server/scheduling/calendar.py).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 07:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, field name bound into the ciphertext), as server/models declared them at
# this revision; frozen here so later model changes do not change what this migration does.
SEALED = [
    ("agreement_sheet", "citizen_does", "agreement.citizen_does"),
    ("agreement_sheet", "citizen_says", "agreement.citizen_says"),
    ("agreement_sheet", "municipality_does", "agreement.municipality_does"),
    ("agreement_sheet", "relatives_say", "agreement.relatives_say"),
    ("agreement_sheet", "topics", "agreement.topics"),
    ("agreement_version", "citizen_does", "agreement.citizen_does"),
    ("agreement_version", "citizen_says", "agreement.citizen_says"),
    ("agreement_version", "municipality_does", "agreement.municipality_does"),
    ("agreement_version", "relatives_say", "agreement.relatives_say"),
    ("agreement_version", "topics", "agreement.topics"),
    ("citizen", "special_approach", "citizen.special_approach"),
    ("citizen", "wishes", "citizen.wishes"),
    ("consent", "note", "consent.note"),
    ("inbox_item", "note", "inbox_item.note"),
    ("meeting_dialogue", "theme_notes", "meeting_dialogue.theme_notes"),
    ("observation", "note", "observation.note"),
]


def _keyring() -> Any:
    # server.sealing.Keyring when run by screenvisit with its keys; duck-typed so that this
    # file imports no app code.
    return context.config.attributes.get("keyring")


def _rows(table: str, column: str) -> tuple[sa.TableClause, list[tuple[int, str]]]:
    raw = sa.table(table, sa.column("id", sa.Integer), sa.column(column, sa.Text))
    result = op.get_bind().execute(
        sa.select(raw.c.id, raw.c[column]).where(raw.c[column].is_not(None))
    )
    return raw, [(row[0], row[1]) for row in result]


def _rewrite(convert: Any) -> None:
    for table, column, where in SEALED:
        raw, rows = _rows(table, column)
        for row_id, stored in rows:
            fresh = convert(stored, where)
            if fresh != stored:
                op.get_bind().execute(
                    sa.update(raw).where(raw.c.id == row_id).values({column: fresh})
                )


def upgrade() -> None:
    with op.batch_alter_table("calendar_feed", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("meeting_dialogue", schema=None) as batch_op:
        batch_op.alter_column(
            "theme_notes",
            existing_type=sa.JSON(),
            type_=sa.Text(),
            existing_nullable=False,
            postgresql_using="theme_notes::text",
        )
    keyring = _keyring()
    if keyring is not None:
        _rewrite(lambda v, w: v if keyring.is_current(v) else keyring.seal(keyring.open(v, w), w))


def downgrade() -> None:
    keyring = _keyring()
    if keyring is None:
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
    else:
        _rewrite(keyring.open)
    with op.batch_alter_table("meeting_dialogue", schema=None) as batch_op:
        batch_op.alter_column(
            "theme_notes",
            existing_type=sa.Text(),
            type_=sa.JSON(),
            existing_nullable=False,
            postgresql_using="theme_notes::json",
        )
    with op.batch_alter_table("calendar_feed", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
