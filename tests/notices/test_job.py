"""The notice job on SQLite and PostgreSQL: reminders, changes, late windows, SMS, idempotence."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db import make_engine, make_sessionmaker
from server.models import Channel, Citizen, KioskDevice, Visit, VisitStatus, utcnow
from server.models.notices import CitizenNotice, NoticeChannel, NoticeKind, SmsRecipient
from server.notices.job import NoticeJob
from server.notices.store import for_tablet
from server.sealing import development_keyring
from server.settings import Settings
from server.sms import LoggingSmsAdapter, mask
from tests.databases import transaction
from tests.scheduling.world import World, add_citizen, make_world

VISIT_AT = dt.datetime(2026, 3, 24, 7, 0, tzinfo=dt.UTC)  # Tuesday 08:00 in Copenhagen
EVENING = dt.datetime(2026, 3, 23, 17, 0, tzinfo=dt.UTC)  # Monday 18:00
SOON = VISIT_AT - dt.timedelta(minutes=30)


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Runs on SQLite and PostgreSQL."""
    return both_backends


class FakeSms:
    """Records what would have been sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, to: str, text: str) -> None:
        self.sent.append((to, text))


@dataclass
class Setup:
    world: World
    job: NoticeJob
    sms: FakeSms
    sessions: async_sessionmaker[AsyncSession]


@pytest.fixture
async def setup(db_url: str) -> AsyncIterator[Setup]:
    """A world of one citizen with an enrolled tablet, and the job with a fake SMS adapter."""
    async with transaction(db_url) as session:
        world = await make_world(session)
        await session.execute(update(KioskDevice).values(enrolled_at=utcnow()))
    engine = make_engine(db_url, keyring=development_keyring())
    sessions = make_sessionmaker(engine)
    sms = FakeSms()
    job = NoticeJob(Settings(database_url=db_url), sessions, sms)
    try:
        yield Setup(world, job, sms, sessions)
    finally:
        await engine.dispose()


async def add_visit(
    s: Setup, citizen_id: int, at: dt.datetime = VISIT_AT, channel: Channel = Channel.SCREEN
) -> int:
    async with s.sessions.begin() as session:
        visit = Visit(
            citizen_id=citizen_id,
            visit_type_id=s.world.types["medication"],
            team_id=s.world.team_id,
            assigned_staff_id=s.world.nurse_id,
            planned_at=at,
            channel=channel,
        )
        session.add(visit)
        await session.flush()
        return visit.id


async def notices(s: Setup, visit_id: int) -> list[CitizenNotice]:
    async with s.sessions() as session:
        rows = await session.scalars(
            select(CitizenNotice)
            .where(CitizenNotice.visit_id == visit_id)
            .order_by(CitizenNotice.id)
        )
        return list(rows)


async def change(s: Setup, visit_id: int, **values: object) -> None:
    async with s.sessions.begin() as session:
        await session.execute(update(Visit).where(Visit.id == visit_id).values(**values))


async def test_job_reminds_evening_before_and_30_minutes_before(setup: Setup) -> None:
    """18:00 the evening before, then 30 minutes before; each once, however often the job runs."""
    s = setup
    visit_id = await add_visit(s, s.world.citizens[0])
    assert await s.job.step(EVENING - dt.timedelta(minutes=1)) == []
    assert len(await s.job.step(EVENING)) == 1
    assert await s.job.step(EVENING + dt.timedelta(minutes=1)) == []
    assert len(await s.job.step(SOON)) == 1
    assert await s.job.step(SOON + dt.timedelta(seconds=30)) == []
    evening, soon = await notices(s, visit_id)
    assert (evening.kind, evening.channel) == (NoticeKind.REMINDER_EVENING, NoticeChannel.TABLET)
    assert evening.text_da == "Husk: Anna kommer på skærmen i morgen kl. 08:00 — medicin."
    assert soon.text_da == "Om lidt: Anna kommer på skærmen i dag kl. 08:00 — medicin."
    assert soon.staff_id == s.world.nurse_id
    assert soon.show_until == VISIT_AT + dt.timedelta(minutes=15)
    assert s.sms.sent == []


async def test_job_tells_moved_reassigned_and_cancelled_after_a_reminder(setup: Setup) -> None:
    """Once reminded, a new time, a new person and a cancellation are each told at the next run."""
    s = setup
    visit_id = await add_visit(s, s.world.citizens[0])
    await s.job.step(EVENING)
    later = VISIT_AT + dt.timedelta(hours=1)
    await change(s, visit_id, planned_at=later)
    await s.job.step(EVENING + dt.timedelta(minutes=5))
    await change(s, visit_id, assigned_staff_id=s.world.carer_id)
    await s.job.step(EVENING + dt.timedelta(minutes=10))
    await change(s, visit_id, status=VisitStatus.CANCELLED)
    await s.job.step(EVENING + dt.timedelta(minutes=15))
    await s.job.step(EVENING + dt.timedelta(minutes=20))  # nothing more to tell
    kinds = [(n.kind, n.text_da) for n in await notices(s, visit_id)]
    assert kinds == [
        (NoticeKind.REMINDER_EVENING, "Husk: Anna kommer på skærmen i morgen kl. 08:00 — medicin."),
        (
            NoticeKind.MOVED,
            "Besøget er flyttet: Anna kommer på skærmen i morgen kl. 09:00 — medicin"
            " (ikke i morgen kl. 08:00).",
        ),
        (
            NoticeKind.REASSIGNED,
            "Der kommer en anden: Carla kommer på skærmen i morgen kl. 09:00 — medicin"
            " (ikke Anna).",
        ),
        (NoticeKind.CANCELLED, "Skærmbesøget i morgen kl. 09:00 er aflyst — medicin."),
    ]


async def test_job_few_new_faces_hear_of_a_new_person_as_soon_as_planned(setup: Setup) -> None:
    """Days ahead, a reassignment is told at once to a citizen with few new faces, not to others."""
    s = setup
    async with s.sessions.begin() as session:
        other = await add_citizen(session, s.world, "Borger Ny")
        await session.execute(update(KioskDevice).values(enrolled_at=utcnow()))
        citizen = await session.get_one(Citizen, s.world.citizens[0])
        citizen.few_new_faces = True
    ahead = VISIT_AT + dt.timedelta(days=5)
    sensitive, ordinary = await add_visit(s, citizen.id, ahead), await add_visit(s, other, ahead)
    now = VISIT_AT - dt.timedelta(hours=3)
    await s.job.step(now)
    for visit_id in (sensitive, ordinary):
        await change(s, visit_id, assigned_staff_id=s.world.carer_id)
    created = await s.job.step(now + dt.timedelta(seconds=30))
    assert len(created) == 1
    (told,) = await notices(s, sensitive)
    assert told.kind is NoticeKind.REASSIGNED
    assert told.text_da.startswith("Der kommer en anden: Carla kommer på skærmen søndag d. 29.")
    assert await notices(s, ordinary) == []


async def test_job_late_window_for_screen_visits_only(setup: Setup) -> None:
    """Half-way through the window with no call: "lidt forsinket" (screen visits), once."""
    s = setup
    screen = await add_visit(s, s.world.citizens[0])
    physical = await add_visit(s, s.world.citizens[0], channel=Channel.PHYSICAL)
    await s.job.step(VISIT_AT + dt.timedelta(minutes=7))
    assert await notices(s, screen) == []  # no reminder once the time has come, not late yet
    await s.job.step(VISIT_AT + dt.timedelta(minutes=8))
    await s.job.step(VISIT_AT + dt.timedelta(minutes=9))
    late = [n for n in await notices(s, screen) if n.kind is NoticeKind.LATE]
    assert [n.key for n in late] == ["late:window"]
    assert late[0].text_da.startswith("Hjemmeplejen er lidt forsinket med skærmbesøget kl. 08:00")
    assert all(n.kind is not NoticeKind.LATE for n in await notices(s, physical))


async def test_job_sends_sms_to_a_citizen_without_a_tablet(setup: Setup) -> None:
    """No tablet but an SMS number: the same text goes by SMS, once, and its sending is logged."""
    s = setup
    async with s.sessions.begin() as session:
        phoneless = await add_citizen(session, s.world, "Borger Uden")
        texted = await add_citizen(session, s.world, "Borger Sms")
        await session.execute(
            update(KioskDevice)
            .where(KioskDevice.citizen_id.in_([phoneless, texted]))
            .values(revoked_at=utcnow())
        )
        session.add(SmsRecipient(citizen_id=texted, phone="+45 12 34 56 78"))
    sms_visit, nobody_visit = await add_visit(s, texted), await add_visit(s, phoneless)
    await s.job.step(EVENING)
    await s.job.step(EVENING + dt.timedelta(seconds=30))
    assert s.sms.sent == [
        ("+45 12 34 56 78", "Husk: Anna kommer på skærmen i morgen kl. 08:00 — medicin.")
    ]
    (sent,) = await notices(s, sms_visit)
    assert (sent.channel, sent.sent_at) == (NoticeChannel.SMS, EVENING)
    assert await notices(s, nobody_visit) == []


async def test_sms_logging_adapter_masks_the_number(caplog: pytest.LogCaptureFixture) -> None:
    """The demo's adapter logs each SMS at INFO with all but the last two digits hidden."""
    caplog.set_level("INFO", logger="server.sms")
    await LoggingSmsAdapter().send("+45 12 34 56 78", "Husk: Anna kommer")
    assert mask("+45 12 34 56 78") == "********78"
    assert "sms to ********78 sent" in caplog.text
    assert "12 34" not in caplog.text and "Husk" not in caplog.text


async def test_job_two_processes_create_each_notice_once(setup: Setup, db_url: str) -> None:
    """Two processes running the job at the same moment create each reminder once."""
    s = setup
    visit_id = await add_visit(s, s.world.citizens[0])
    engine = make_engine(db_url, keyring=development_keyring())
    try:
        other = NoticeJob(s.job.settings, make_sessionmaker(engine), FakeSms())
        first, second = await asyncio.gather(s.job.step(EVENING), other.step(EVENING))
    finally:
        await engine.dispose()
    assert len(first) + len(second) == 1
    assert [n.kind for n in await notices(s, visit_id)] == [NoticeKind.REMINDER_EVENING]


async def test_tablet_shows_the_next_visits_reminder_and_a_change_before_it(setup: Setup) -> None:
    """At night every reminder of the coming day is in force: the tablet shows the one for the
    next visit first, not the one made last; a change (a delay) comes before any reminder."""
    s = setup
    citizen = s.world.citizens[0]
    morning = await add_visit(s, citizen)
    afternoon = await add_visit(s, citizen, VISIT_AT + dt.timedelta(hours=7))
    await s.job.step(EVENING)
    night = EVENING + dt.timedelta(hours=8)
    async with s.sessions() as session:
        shown = await for_tablet(session, citizen, night)
    assert [n.visit_id for n in shown] == [morning, afternoon]
    await change(s, afternoon, planned_at=VISIT_AT + dt.timedelta(hours=8))
    await s.job.step(night)
    async with s.sessions() as session:
        shown = await for_tablet(session, citizen, night + dt.timedelta(minutes=1))
    assert [(n.visit_id, n.kind) for n in shown] == [
        (afternoon, NoticeKind.MOVED),
        (morning, NoticeKind.REMINDER_EVENING),
    ]
