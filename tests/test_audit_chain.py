"""The audit trail's hash chains: sealed per organisation at commit (also under concurrent
writers), verified, tampering named, append-only on PostgreSQL, the purge; list reads audited."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import JSON, DateTime, Integer, String, column, func, insert, select, table, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server import audit
from server.db import make_engine, make_sessionmaker
from server.demo import create_admin
from server.migrate import upgrade
from server.models import AuditEvent, Citizen, Organisation
from server.models.base import utcnow
from server.sealing import development_keyring
from server.settings import Settings
from tests import databases
from tests.conftest import Client, login
from tests.kiosk_web.test_enrolment_api import staff_csrf
from tests.test_cli import run_cli

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Run on both backends."""
    return both_backends


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[Sessions]:
    """A session factory on the test database."""
    engine = make_engine(db_url, keyring=development_keyring())
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


async def add_orgs(sessions: Sessions, *slugs: str) -> list[int]:
    """Organisations with no staff, for chains of their own."""
    async with sessions.begin() as session:
        orgs = [Organisation(slug=slug, name=slug.title()) for slug in slugs]
        session.add_all(orgs)
        await session.flush()
        return [org.id for org in orgs]


async def write(
    sessions: Sessions, org_id: int | None, n: int, at: dt.datetime | None = None
) -> list[int]:
    """``n`` events in one organisation's chain, one transaction; their ids."""
    async with sessions.begin() as session:
        events = []
        for k in range(n):
            event = audit.record(session, "test.event", actor="tester", detail={"k": k})
            event.organisation_id = org_id
            event.at = at or event.at
            events.append(event)
    return [e.id for e in events]


async def problems(sessions: Sessions) -> dict[str, str | None]:
    """Each chain's first fault by name (None: intact)."""
    async with sessions() as session:
        return {r.name: r.problem for r in await audit.verify(session)}


async def test_concurrent_writers_build_one_chain_per_organisation(sessions: Sessions) -> None:
    """Six writers at once, each committing four transactions into three chains: every chain
    counts 1…24 without a gap or a fork, and verify finds them intact."""
    a, b = await add_orgs(sessions, "alpha", "beta")

    async def writer(i: int) -> None:
        for k in range(4):
            async with sessions.begin() as session:
                for org in (a, b, None):
                    event = audit.record(session, "test.write", actor=f"w{i}", detail={"k": k})
                    event.organisation_id = org

    await asyncio.gather(*(writer(i) for i in range(6)))
    async with sessions() as session:
        for chain in (a, b, audit.SYSTEM_CHAIN):
            seqs = await session.scalars(select(AuditEvent.seq).where(AuditEvent.chain == chain))
            assert sorted(seqs) == list(range(1, 25))
        reports = await audit.verify(session)
    assert {r.name: (r.events, r.problem) for r in reports} == {
        "alpha": (24, None),
        "beta": (24, None),
        "system": (24, None),
    }


async def test_tampering_is_named(sessions: Sessions, db_url: str) -> None:
    """A changed, a deleted, a forged and a forged-but-well-hashed event each break their chain
    at the event concerned. On PostgreSQL the changes need the trigger turned off first (the
    table owner can; verify still sees it)."""
    changed, deleted, forged = await add_orgs(sessions, "changed", "deleted", "forged")
    changed_ids = await write(sessions, changed, 4)
    deleted_ids = await write(sessions, deleted, 4)
    await write(sessions, forged, 2)
    system_ids = await write(sessions, None, 2)
    assert set((await problems(sessions)).values()) == {None}
    postgres = db_url.startswith("postgresql")
    async with sessions.begin() as session:
        if postgres:
            await session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        await session.execute(
            text("UPDATE audit_event SET detail = :d WHERE id = :id"),
            {"d": '{"k": 99}', "id": changed_ids[2]},
        )
        await session.execute(
            text("DELETE FROM audit_event WHERE id = :id"), {"id": deleted_ids[1]}
        )
        if postgres:
            await session.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
        last = await session.scalar(select(AuditEvent).where(AuditEvent.id == system_ids[-1]))
        assert last is not None
        forged_row = {
            "at": utcnow(),
            "actor": "nobody",
            "action": "citizen.read",
            "detail": {},
            "organisation_id": forged,
            "chain": forged,
            "seq": 3,
            "prev_hash": "f" * 64,
            "hash": "e" * 64,
        }
        naive = await session.scalar(
            insert(AuditEvent).values(**forged_row).returning(AuditEvent.id)
        )
        # A forger who hashes correctly but cannot move the chain head.
        clever = AuditEvent(**{**forged_row, "organisation_id": None, "chain": 0, "seq": 3})
        clever.prev_hash = last.hash
        clever.hash = audit.digest(clever)
        columns = {c.key: getattr(clever, c.key) for c in AuditEvent.__table__.columns}
        columns.pop("id")
        clever_id = await session.scalar(
            insert(AuditEvent).values(**columns).returning(AuditEvent.id)
        )
    found = await problems(sessions)
    assert found["changed"] == (
        f"event id {changed_ids[2]} (seq 3): its hash does not match its content: changed"
    )
    assert (
        found["deleted"] == f"event id {deleted_ids[2]} (seq 3): seq 2–2 missing before it: deleted"
    )
    assert (
        found["forged"] == f"event id {naive} (seq 3): its hash does not match its content: changed"
    )
    assert found["system"] == (
        f"event id {clever_id} (seq 3): past the chain head (seq 2): inserted"
    )
    with pytest.raises(IntegrityError):  # two events can never share a place in a chain
        async with sessions.begin() as session:
            await session.execute(insert(AuditEvent).values(**{**forged_row, "seq": 1}))


async def test_purge_records_itself_and_postgres_refuses_changes(
    sessions: Sessions, db_url: str
) -> None:
    """The purge drops each chain's events before the cutoff and records the range, after
    which verify accepts the chain starting at the first kept event; twice over. PostgreSQL
    refuses UPDATE, DELETE and TRUNCATE outside the purge."""
    (org,) = await add_orgs(sessions, "kept")
    old = utcnow() - dt.timedelta(days=400)
    await write(sessions, org, 3, at=old)
    await write(sessions, None, 2, at=old)
    kept = await write(sessions, org, 2)
    async with sessions.begin() as session:
        purged = await audit.purge_before(session, utcnow() - dt.timedelta(days=365))
    assert {(p.chain, p.first_seq, p.last_seq, p.deleted) for p in purged} == {
        (org, 1, 3, 3),
        (0, 1, 2, 2),
    }
    async with sessions() as session:
        reports = {r.name: (r.events, r.problem) for r in await audit.verify(session)}
        first = await session.scalar(select(func.min(AuditEvent.id)).where(AuditEvent.chain == org))
        mark = await session.scalar(
            select(AuditEvent.detail).where(
                AuditEvent.chain == org, AuditEvent.action == audit.PURGE_ACTION
            )
        )
    assert reports == {"kept": (3, None), "system": (1, None)}
    assert first == kept[0] and mark is not None
    assert (mark["first_seq"], mark["last_seq"], mark["deleted"]) == (1, 3, 3)
    async with sessions.begin() as session:  # a later purge removes the first one's record too
        await audit.purge_before(session, utcnow() + dt.timedelta(seconds=1))
    assert set((await problems(sessions)).values()) == {None}
    if not db_url.startswith("postgresql"):
        return
    for statement in (
        "UPDATE audit_event SET actor = 'x'",
        "DELETE FROM audit_event",
        "TRUNCATE audit_event",
        "SET LOCAL screenvisit.purge = 'on'; UPDATE audit_event SET actor = 'x'",
    ):
        with pytest.raises(DBAPIError, match="audit_event is append-only"):
            async with sessions.begin() as session:
                for part in statement.split("; "):
                    await session.execute(text(part))


async def test_cli_audit_verify(tmp_path: Path, sqlite_template: Path) -> None:
    """`screenvisit audit verify` passes an intact log, names a changed event with exit 1,
    and refuses an unknown organisation with exit 2."""
    url = databases.copy_sqlite(sqlite_template, tmp_path / "cli.db")
    engine = make_engine(url, keyring=development_keyring())
    try:
        sessions = make_sessionmaker(engine)
        (org,) = await add_orgs(sessions, "cli")
        ids = await write(sessions, org, 3)
    finally:
        await engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCREENVISIT_")}
    env |= {"SCREENVISIT_DATABASE_URL": url, "SCREENVISIT_SECRET_KEY": "cli-test-secret"}
    intact = await asyncio.to_thread(run_cli, "audit", "verify", env=env)
    assert (intact.returncode, intact.stdout.strip()) == (0, "3 events, chains intact")
    async with databases.transaction(url) as session:
        await session.execute(
            text("UPDATE audit_event SET actor = 'x' WHERE id = :id"), {"id": ids[0]}
        )
    broken = await asyncio.to_thread(run_cli, "audit", "verify", "--organisation", "cli", env=env)
    assert broken.returncode == 1
    assert f"audit chain cli: event id {ids[0]} (seq 1): its hash" in broken.stderr
    unknown = await asyncio.to_thread(run_cli, "audit", "verify", "--organisation", "x", env=env)
    assert unknown.returncode == 2


async def test_list_reads_and_foreign_probes_are_audited(
    client: Client, demo: Settings, sessions: Sessions
) -> None:
    """The citizen list, the day list and a calendar feed's read record which citizens they
    showed (the feed's under its citizens' organisation); a wrong pairing code and the feed's
    creation are audited; a foreign organisation's probe of a citizen lands in the citizen's
    organisation's log and CSV."""
    csrf = {"X-CSRF-Token": await staff_csrf(client, "anna")}
    listed = await (await client.get("/api/citizens")).json()
    day = await (await client.get("/api/daylist")).json()
    wrong = await client.post("/api/citizens/1/enrol", json={"code": "999999"}, headers=csrf)
    assert wrong.status == 400
    feed = await (await client.post("/api/calendar/feeds", json={}, headers=csrf)).json()
    client.session.cookie_jar.clear()
    path = feed["url"].split("/calendar/", 1)[1]
    assert (await client.get(f"/calendar/{path}")).status == 200
    async with sessions() as session:
        rows = await session.execute(
            select(AuditEvent.action, AuditEvent.organisation_id, AuditEvent.detail)
        )
        events = {action: (org, detail) for action, org, detail in rows}
        citizen_id = await session.scalar(select(func.min(Citizen.id)))
        demo_org = await session.scalar(select(Organisation.id).where(Organisation.slug == "demo"))
    details = {action: detail for action, (_, detail) in events.items()}
    assert listed["citizens"]
    assert details["citizen.list"]["citizen_ids"] == sorted(c["id"] for c in listed["citizens"])
    assert events["kiosk.enrol_refused"] == (demo_org, {"reason": "wrong_code"})
    assert events["calendar_feed.created"][0] == demo_org
    assert events["calendar_feed.read"][0] == demo_org
    assert details["daylist.read"]["citizen_ids"] == sorted(
        {v["citizen_id"] for v in day["visits"]}
    )
    await create_admin(demo, "other", "olga", "Olga Udefra", "other-secret-1")
    client.session.cookie_jar.clear()
    assert await login(client, "olga", "other-secret-1") == 303
    assert (await client.get(f"/api/citizens/{citizen_id}")).status in (403, 404)
    client.session.cookie_jar.clear()
    assert await login(client, "admin") == 303
    csv = await (await client.get("/admin/audit.csv?action=citizen.read_denied")).text()
    assert "olga" in csv and f",citizen,{citizen_id}," in csv
    assert set((await problems(sessions)).values()) == {None}


def test_hash_covers_every_field() -> None:
    """Changing any stored field of an event changes its hash."""
    event = AuditEvent(
        at=dt.datetime(2026, 3, 4, 8, 0, tzinfo=dt.UTC),
        organisation_id=1,
        actor_staff_id=2,
        actor="anna",
        action="citizen.read",
        subject_kind="citizen",
        subject_id="3",
        detail={"a": [1, 2]},
        remote="127.0.0.1",
        chain=1,
        seq=1,
        prev_hash=audit.GENESIS,
    )
    before = audit.digest(event)
    changes = {
        "at": dt.datetime(2026, 3, 4, 8, 0, 1, tzinfo=dt.UTC),
        "organisation_id": 9,
        "actor_staff_id": 9,
        "actor": "bo",
        "action": "citizen.list",
        "subject_kind": "visit",
        "subject_id": "4",
        "detail": {"a": [2, 1]},
        "remote": "10.0.0.1",
        "chain": 9,
        "seq": 2,
        "prev_hash": "1" * 64,
    }
    for name, value in changes.items():
        other = AuditEvent(**{c: getattr(event, c) for c in changes} | {name: value})
        assert audit.digest(other) != before, name


async def test_migration_chains_the_events_before_it(tmp_path: Path) -> None:
    """Events written before migration 0016 are chained in id order and verify intact."""
    url = databases.sqlite_url(tmp_path / "old.db")
    await upgrade(url, "0015")
    old = table(
        "audit_event",
        column("at", DateTime(timezone=True)),
        column("organisation_id", Integer()),
        column("actor", String()),
        column("action", String()),
        column("detail", JSON()),
    )
    at = dt.datetime(2026, 3, 4, 8, 0, 0, 123456)
    engine = make_engine(url, keyring=development_keyring())
    try:
        (org,) = await add_orgs(make_sessionmaker(engine), "before")
        async with engine.begin() as conn:
            await conn.execute(
                insert(old),
                [
                    {"at": at, "organisation_id": o, "actor": "a", "action": "x", "detail": {}}
                    for o in [org, None, org, org]
                ],
            )
    finally:
        await engine.dispose()
    await upgrade(url)
    engine = make_engine(url, keyring=development_keyring())
    try:
        async with make_sessionmaker(engine)() as session:
            reports = await audit.verify(session)
    finally:
        await engine.dispose()
    assert {(r.name, r.events, r.problem) for r in reports} == {
        ("before", 3, None),
        ("system", 1, None),
    }
