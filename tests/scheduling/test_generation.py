"""Generation from plans on real databases: idempotence, edits, DST, first visit physical."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from server.models import Channel, Outcome, PlanChange, Visit, VisitPlan, VisitStatus
from server.scheduling.generation import generate
from tests.databases import transaction
from tests.scheduling.world import add_plan, make_world
from tests.zone import LOCAL_ZONE

NOW = dt.datetime(2026, 3, 23, 5, 0, tzinfo=dt.UTC)  # Monday 06:00 in Copenhagen


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Every test here runs on SQLite and PostgreSQL."""
    return both_backends


async def _visits(db_url: str) -> list[Visit]:
    async with transaction(db_url) as session:
        return list(await session.scalars(select(Visit).order_by(Visit.planned_at, Visit.id)))


async def test_generation_is_idempotent(db_url: str) -> None:
    """Running generation twice stores each occurrence once."""
    async with transaction(db_url) as session:
        world = await make_world(session)
        await add_plan(session, world, world.citizens[0], "medication", dt.time(8, 0))
    async with transaction(db_url) as session:
        first = await generate(session, NOW, zone=LOCAL_ZONE, horizon_days=6)
    async with transaction(db_url) as session:
        second = await generate(session, NOW, zone=LOCAL_ZONE, horizon_days=6)
    assert (first.created, second.created) == (7, 0)
    assert len(await _visits(db_url)) == 7


async def test_generation_keeps_wall_clock_across_spring_forward(db_url: str) -> None:
    """08:00 stays 08:00 local over the March change; 02:30 on that day becomes 03:30 CEST."""
    async with transaction(db_url) as session:
        world = await make_world(session)
        await add_plan(session, world, world.citizens[0], "reassurance", dt.time(8, 0))
        await add_plan(session, world, world.citizens[0], "medication", dt.time(2, 30))
    now = dt.datetime(2026, 3, 27, 12, 0, tzinfo=dt.UTC)
    async with transaction(db_url) as session:
        await generate(session, now, zone=LOCAL_ZONE, horizon_days=3)
    local = [v.planned_at.astimezone(LOCAL_ZONE) for v in await _visits(db_url)]
    eights = sorted(t for t in local if t.hour == 8)
    assert [t.utcoffset() for t in eights] == [dt.timedelta(hours=h) for h in (1, 2, 2)]
    spring = [t for t in local if t.date() == dt.date(2026, 3, 29) and t.hour < 8]
    assert [(t.hour, t.minute) for t in spring] == [(3, 30)]


async def test_generation_autumn_ambiguous_time_is_first(db_url: str) -> None:
    """02:30 on the October change day is planned once, at the first (summer-time) 02:30."""
    async with transaction(db_url) as session:
        world = await make_world(session)
        await add_plan(session, world, world.citizens[0], "medication", dt.time(2, 30))
    now = dt.datetime(2026, 10, 24, 12, 0, tzinfo=dt.UTC)
    async with transaction(db_url) as session:
        await generate(session, now, zone=LOCAL_ZONE, horizon_days=1)
    change_day = [
        v.planned_at
        for v in await _visits(db_url)
        if v.planned_at.astimezone(LOCAL_ZONE).date() == dt.date(2026, 10, 25)
    ]
    assert change_day == [dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)]


async def test_generation_first_visit_is_physical(db_url: str) -> None:
    """A new citizen's first visit is physical, later ones follow the plan's channel."""
    async with transaction(db_url) as session:
        world = await make_world(session)
        await add_plan(session, world, world.citizens[0], "reassurance", dt.time(9, 0))
    async with transaction(db_url) as session:
        await generate(session, NOW, zone=LOCAL_ZONE, horizon_days=2)
    channels = [v.channel for v in await _visits(db_url)]
    assert channels == [Channel.PHYSICAL, Channel.SCREEN, Channel.SCREEN]


async def test_generation_edit_moves_only_untouched_future_visits(db_url: str) -> None:
    """After a plan edit, documented and past visits stay; untouched future ones follow."""
    async with transaction(db_url) as session:
        world = await make_world(session)
        plan_id = await add_plan(session, world, world.citizens[0], "medication", dt.time(8, 0))
    async with transaction(db_url) as session:
        await generate(session, NOW, zone=LOCAL_ZONE, horizon_days=3)
    first = (await _visits(db_url))[0]
    async with transaction(db_url) as session:
        visit = await session.get_one(Visit, first.id)
        visit.status = VisitStatus.DONE
        session.add(
            PlanChange(plan_id=plan_id, local_date=dt.date(2026, 3, 25), kind="cancel", reason="x")
        )
    async with transaction(db_url) as session:
        stored_plan = await session.get_one(VisitPlan, plan_id)
        stored_plan.local_time = dt.time(9, 0)
        result = await generate(session, NOW, zone=LOCAL_ZONE, horizon_days=3)
    visits = await _visits(db_url)
    assert result.cancelled == 1
    assert visits[0].planned_at.astimezone(LOCAL_ZONE).hour == 8  # documented, unchanged
    open_hours = {
        v.planned_at.astimezone(LOCAL_ZONE).hour
        for v in visits[1:]
        if v.status == VisitStatus.PLANNED
    }
    assert open_hours == {9}
    async with transaction(db_url) as session:
        outcomes = await session.scalar(select(func.count()).select_from(Outcome))
    assert outcomes == 1  # the cancelled day has a recorded outcome


async def test_generation_for_one_citizen_leaves_others_alone(db_url: str) -> None:
    """Regenerating one citizen's plans never cancels another citizen's visits."""
    async with transaction(db_url) as session:
        world = await make_world(session, citizens=2)
        for citizen in world.citizens:
            await add_plan(session, world, citizen, "reassurance", dt.time(11, 0))
    async with transaction(db_url) as session:
        await generate(session, NOW, zone=LOCAL_ZONE, horizon_days=3)
    async with transaction(db_url) as session:
        again = await generate(
            session, NOW, zone=LOCAL_ZONE, horizon_days=3, citizen_ids=[world.citizens[0]]
        )
    assert (again.created, again.cancelled) == (0, 0)
    statuses = {v.status for v in await _visits(db_url)}
    assert statuses == {VisitStatus.PLANNED}
