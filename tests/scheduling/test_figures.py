"""Key figures on a constructed week, on SQLite and PostgreSQL, and the JSON API's scoping."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.models import (
    Call,
    CallState,
    Channel,
    InboxItem,
    InboxKind,
    Team,
    Visit,
    VisitStatus,
)
from server.scheduling.figures import team_figures, week_starts
from server.settings import Settings
from tests.conftest import Client, login
from tests.databases import transaction
from tests.scheduling.world import World, make_world
from tests.zone import LOCAL_ZONE

MONDAY = dt.date(2026, 3, 9)  # ISO week 2026-W11


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Every test here runs on SQLite and PostgreSQL."""
    return both_backends


def _at(day: dt.date, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute, second), LOCAL_ZONE).astimezone(dt.UTC)


def _day(n: int) -> dt.date:
    return MONDAY + dt.timedelta(days=n)


async def _visit(
    world: World,
    session: AsyncSession,
    citizen: int,
    day: dt.date,
    status: VisitStatus,
    *,
    channel: Channel = Channel.SCREEN,
    staff: int | None = None,
) -> Visit:
    visit = Visit(
        citizen_id=citizen,
        visit_type_id=world.types["reassurance"],
        team_id=world.team_id,
        planned_at=_at(day, 10),
        window_min=15,
        channel=channel,
        status=status,
        assigned_staff_id=staff,
    )
    session.add(visit)
    await session.flush()
    return visit


def _call(visit: Visit, rang: dt.datetime, seconds: int | None, caller: int | None, n: int) -> Call:
    answered = None if seconds is None else rang + dt.timedelta(seconds=10)
    return Call(
        public_id=f"call-{visit.id}-{n}",
        citizen_id=visit.citizen_id,
        visit_id=visit.id,
        caller_staff_id=caller,
        state=CallState.ENDED,
        ring_started_at=rang,
        answered_at=answered,
        ended_at=None if answered is None else answered + dt.timedelta(seconds=seconds or 0),
    )


async def test_figures_of_a_constructed_week(db_url: str) -> None:
    """Every figure matches a week built by hand (cancelled visits are left out)."""
    async with transaction(db_url) as session:
        world = await make_world(session, citizens=2)
        a, b = world.citizens
        nurse, carer = world.nurse_id, world.carer_id
        on_time = await _visit(world, session, a, _day(0), VisitStatus.DONE)
        late = await _visit(world, session, a, _day(1), VisitStatus.DONE)
        missed = await _visit(world, session, b, _day(2), VisitStatus.MISSED)
        await _visit(
            world, session, b, _day(3), VisitStatus.DONE, channel=Channel.PHYSICAL, staff=carer
        )
        await _visit(world, session, b, _day(4), VisitStatus.CANCELLED)
        await _visit(world, session, a, _day(-7), VisitStatus.DONE, staff=nurse)  # last week
        session.add_all(
            [
                _call(on_time, _at(_day(0), 10, 5), 180, nurse, 0),
                _call(late, _at(_day(1), 10, 30), 120, carer, 0),
                _call(missed, _at(_day(2), 10, 0), None, nurse, 0),
                _call(missed, _at(_day(2), 10, 5), None, nurse, 1),
                InboxItem(
                    organisation_id=world.org_id, team_id=world.team_id, citizen_id=b,
                    visit_id=missed.id, kind=InboxKind.MISSED_VISIT, message="Mistet besøg",
                ),
            ]
        )  # fmt: skip
    async with transaction(db_url) as session:
        figures = await team_figures(session, [world.team_id], _day(6), weeks=2, zone=LOCAL_ZONE)
    previous, week = figures[world.team_id]
    assert (previous.week, week.week, week.starts) == ("2026-W10", "2026-W11", MONDAY)
    assert (week.visits, week.calls, week.missed, week.escalated) == (4, 4, 1, 1)
    assert week.on_time_rate == pytest.approx(2 / 3, abs=1e-3)  # the late call is 30 min off
    assert week.answer_rate == 0.5
    assert week.continuity == 1.5  # citizen a: nurse + carer; b: carer
    assert week.screen_share == pytest.approx(2 / 3, abs=1e-3)
    assert week.median_call_s == 150.0
    assert (previous.visits, previous.on_time_rate, previous.median_call_s) == (1, None, None)


def test_week_starts_are_mondays_ending_this_week() -> None:
    """The period ends with the week of `today` and starts on Mondays."""
    assert week_starts(dt.date(2026, 3, 11), 3) == [
        dt.date(2026, 2, 23),
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 9),
    ]


async def test_figures_api_is_team_scoped(client: Client, demo: Settings) -> None:
    """A nurse gets her own team's figures; another team's are refused; bad input is 400."""
    async with transaction(demo.database_url) as session:
        teams = {name: id_ for name, id_ in await session.execute(select(Team.name, Team.id))}
    assert await login(client, "anna") == 303
    response = await client.get("/api/figures?weeks=4")
    assert response.status == 200
    body = await response.json()
    assert [t["team_name"] for t in body["teams"]] == ["Team Nord"]
    assert len(body["weeks"]) == 4 and len(body["teams"][0]["weeks"]) == 4
    response = await client.get(f"/api/figures?team_id={teams['Team Syd']}")
    assert response.status == 403
    response = await client.get("/api/figures?weeks=0")
    assert (response.status, (await response.json())["error"]["code"]) == (400, "invalid_input")
