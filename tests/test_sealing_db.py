"""Sealed columns in a real database (SQLite and PostgreSQL): unreadable in the raw row,
readable through the app, failing closed when changed or moved, re-sealed by rotation, legacy
plaintext read and sealed, and migration 0017 up and down."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db import make_engine, make_sessionmaker
from server.demo import demo_relative_link_token
from server.migrate import downgrade, upgrade
from server.models import Base, Citizen, MeetingDialogue, Visit, utcnow
from server.rekey import key_ids_in_use, missing_keys, rotate
from server.sealing import Keyring, Tampered, sealed_columns, settings_keyring
from server.security import new_data_key
from server.settings import PROJECT_DIR, Settings
from tests import databases
from tests.conftest import Client, login

WISH = "Vil ikke tale om sin demens foran datteren"


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Stored bytes differ by backend: run on both."""
    return both_backends


K1, K2 = new_data_key(), new_data_key()
RING_1 = Keyring({"k1": K1}, "k1")
RING_12 = Keyring({"k1": K1, "k2": K2}, "k2")
RING_2 = Keyring({"k2": K2}, "k2")


async def _raw_values(url: str) -> dict[tuple[str, str, int], str]:
    """Every non-empty stored value of every sealed column, as stored (plain SQL)."""
    engine = make_engine(url)
    values: dict[tuple[str, str, int], str] = {}
    try:
        async with engine.connect() as conn:
            for col in sealed_columns(Base.metadata):
                rows = await conn.execute(
                    sa.text(f"SELECT id, {col.column} FROM {col.table}").columns(  # noqa: S608
                        sa.column("id", sa.Integer), sa.column(col.column, sa.Text)
                    )
                )
                values |= {(col.table, col.column, r[0]): r[1] for r in rows if r[1]}
    finally:
        await engine.dispose()
    return values


async def _first_citizen(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(sa.text("SELECT min(id) FROM citizen")) or 0)


async def _write_wish(url: str, keyring: Keyring, citizen_id: int, wish: str) -> None:
    engine = make_engine(url, keyring=keyring)
    try:
        async with make_sessionmaker(engine).begin() as session:
            (await session.get_one(Citizen, citizen_id)).wishes = wish
    finally:
        await engine.dispose()


async def test_sealed_value_is_unreadable_raw_and_reads_through_the_app(
    demo: Settings, client: Client, db_url: str
) -> None:
    """What the app writes is `v1:<key>:…` in the row, and the app shows the text."""
    engine = make_engine(db_url)
    citizen_id = await _first_citizen(engine)
    await engine.dispose()
    await _write_wish(db_url, settings_keyring(demo), citizen_id, WISH)
    raw = (await _raw_values(db_url))[("citizen", "wishes", citizen_id)]
    assert raw.startswith("v1:dev:") and "demens" not in raw
    assert await login(client, "pia") == 303
    shown = await (await client.get(f"/api/citizens/{citizen_id}")).json()
    assert shown["wishes"] == WISH


async def test_changed_or_moved_ciphertext_fails_closed(
    demo: Settings, client: Client, db_url: str
) -> None:
    """A changed byte, or a value copied into another column, raises Tampered on read, and the
    app answers 500 without any of the text, never garbage."""
    engine = make_engine(db_url, keyring=RING_1)
    citizen_id = await _first_citizen(engine)
    await engine.dispose()
    await _write_wish(db_url, RING_1, citizen_id, WISH)
    raw = (await _raw_values(db_url))[("citizen", "wishes", citizen_id)]
    flipped = raw[:-6] + ("A" if raw[-6] != "A" else "B") + raw[-5:]
    engine = make_engine(db_url, keyring=RING_1)
    try:
        for column, value in (("wishes", flipped), ("special_approach", raw)):
            async with engine.begin() as conn:
                await conn.execute(
                    sa.text(f"UPDATE citizen SET {column} = :v WHERE id = :id"),  # noqa: S608
                    {"v": value, "id": citizen_id},
                )
            with pytest.raises(Tampered, match=f"citizen.{column}"):
                async with make_sessionmaker(engine)() as session:
                    await session.get(Citizen, citizen_id)
            async with engine.begin() as conn:
                await conn.execute(
                    sa.text(f"UPDATE citizen SET {column} = NULL WHERE id = :id"),  # noqa: S608
                    {"id": citizen_id},
                )
        async with engine.begin() as conn:
            await conn.execute(
                sa.text("UPDATE citizen SET special_approach = :v WHERE id = :id"),
                {"v": raw, "id": citizen_id},
            )
    finally:
        await engine.dispose()
    assert await login(client, "pia") == 303
    response = await client.get(f"/api/citizens/{citizen_id}")
    assert response.status == 500
    assert "demens" not in await response.text()


async def test_rotate_seals_legacy_plaintext_then_moves_every_value_to_the_new_key(
    demo: Settings, db_url: str
) -> None:
    """The demo's plaintext reads as it is; rotate seals all of it under k1, then (k2 added
    and active) re-seals all under k2, after which k1 can go; a second run changes nothing."""
    legacy = await _raw_values(db_url)
    assert legacy and all(not v.startswith("v1:") for v in legacy.values())
    engine = make_engine(db_url, keyring=RING_1)
    try:
        async with make_sessionmaker(engine)() as session:
            wishes = {c.id: c.wishes for c in await session.scalars(sa.select(Citizen))}
        stored = {k[2]: v for k, v in legacy.items() if k[:2] == ("citizen", "wishes")}
        assert stored and {i: w for i, w in wishes.items() if w} == stored
        first = await rotate(engine, RING_1, batch=3)
        assert (first.sealed, first.resealed) == (len(legacy), 0)
        assert all(v.startswith("v1:k1:") for v in (await _raw_values(db_url)).values())
        second = await rotate(engine, RING_12, batch=3)
        assert (second.sealed, second.resealed, second.current) == (0, len(legacy), 0)
        assert await key_ids_in_use(engine) == {"k2": len(legacy)}
        again = await rotate(engine, RING_12)
        assert (again.resealed, again.current) == (0, len(legacy))
        assert await missing_keys(engine, RING_2) == []
        assert await missing_keys(engine, RING_1) == ["k2"]
    finally:
        await engine.dispose()
    only_k2 = make_engine(db_url, keyring=RING_2)
    try:
        async with make_sessionmaker(only_k2)() as session:
            after = {c.id: c.wishes for c in await session.scalars(sa.select(Citizen))}
    finally:
        await only_k2.dispose()
    assert after == wishes


def _migration(name: str) -> ModuleType:
    path = PROJECT_DIR / "migrations" / "versions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"m{name[:4]}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _legacy_rows(url: str) -> None:
    """One citizen with plaintext health text, written as the code before 0017 wrote it."""
    engine = make_engine(url)
    now = {"now": utcnow()}
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO organisation (id, slug, name, settings, created_at)"
                    " VALUES (1, 'o', 'O', '{}', :now)"
                ),
                now,
            )
            await conn.execute(
                sa.text("INSERT INTO team (id, organisation_id, name) VALUES (1, 1, 'T')")
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO citizen (id, organisation_id, team_id, name, language,"
                    " special_approach, wishes, few_new_faces, created_at)"
                    " VALUES (1, 1, 1, 'Karen', 'da', 'Taler langsomt', :wish, false, :now)"
                ),
                now | {"wish": WISH},
            )
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_migration_0017_seals_on_upgrade_and_opens_on_downgrade(
    backend: str, tmp_path: Path, pg_template: str | None
) -> None:
    """Upgrade with the keys seals what is stored; downgrade without them refuses (sealed rows);
    downgrade with them restores the exact plaintext and drops `expires_at`; upgrade without
    keys leaves plaintext for `keys rotate`."""
    frozen = _migration("0017_sealed_text_feed_expiry").SEALED
    later = _migration("0019_sealed_outcome_reason").SEALED
    # A newly sealed column needs a migration of its own to seal what is stored.
    declared = {(c.table, c.column, c.where) for c in sealed_columns(Base.metadata)}
    assert declared == set(frozen) | set(later)
    async with databases.empty_database(backend, tmp_path, pg_template) as url:
        await upgrade(url, "0016")
        await _legacy_rows(url)
        legacy = await _raw_values(url)
        assert legacy == {
            ("citizen", "special_approach", 1): "Taler langsomt",
            ("citizen", "wishes", 1): WISH,
        }
        await upgrade(url, "0017", keyring=RING_1)
        sealed = await _raw_values(url)
        assert sealed.keys() == legacy.keys()
        assert all(v.startswith("v1:k1:") for v in sealed.values())
        assert "expires_at" in await _feed_columns(url)
        with pytest.raises(RuntimeError, match="holds sealed values"):
            await downgrade(url, "0016")
        await downgrade(url, "0016", keyring=RING_1)
        assert await _raw_values(url) == legacy
        assert "expires_at" not in await _feed_columns(url)
        await upgrade(url, "0017")
        assert await _raw_values(url) == legacy


async def _feed_columns(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: {col["name"] for col in sa.inspect(c).get_columns("calendar_feed")}
            )
    finally:
        await engine.dispose()


async def test_a_tampered_sheet_behind_a_relative_link_fails_closed_and_logs_no_token(
    demo: Settings, client: Client, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A relative's page whose sheet was tampered with answers 500 without the text, and the
    error logged names the route without the link's token."""
    engine = make_engine(db_url, keyring=settings_keyring(demo))
    try:
        await rotate(engine, settings_keyring(demo))
        async with engine.begin() as conn:
            await conn.execute(
                sa.text("UPDATE agreement_sheet SET topics = citizen_says WHERE topics IS NOT NULL")
            )
    finally:
        await engine.dispose()
    token = demo_relative_link_token(demo)
    with caplog.at_level(logging.ERROR, logger="server"):
        response = await client.get(f"/r/{token}")
    assert response.status == 500
    errors = [r for r in caplog.records if r.name == "server.middlewares"]
    assert errors and "/r/<token>" in errors[0].getMessage()
    assert token not in caplog.text and "Tampered" in caplog.text


async def test_theme_notes_are_sealed_json(demo: Settings, db_url: str) -> None:
    """A host's notes per theme are stored sealed and read back as the same dict; notes stored
    as plain JSON before sealing still read."""
    notes = {"health": "Svimmel om morgenen", "relations": "Savner sin søster"}
    async with databases.transaction(db_url) as session:
        visit = await session.scalar(sa.select(Visit).limit(1))
        assert visit is not None
        row = MeetingDialogue(visit_id=visit.id, citizen_id=visit.citizen_id, theme_notes=notes)
        session.add(row)
        await session.flush()
        row_id = row.id
    raw = (await _raw_values(db_url))[("meeting_dialogue", "theme_notes", row_id)]
    assert raw.startswith("v1:dev:") and "Svimmel" not in raw
    async with databases.transaction(db_url) as session:
        assert (await session.get_one(MeetingDialogue, row_id)).theme_notes == notes
        await session.execute(
            sa.text("UPDATE meeting_dialogue SET theme_notes = :v WHERE id = :id"),
            {"v": '{"health": "Svimmel"}', "id": row_id},
        )
    async with databases.transaction(db_url) as session:
        legacy = await session.get_one(MeetingDialogue, row_id)
        assert legacy.theme_notes == {"health": "Svimmel"}
