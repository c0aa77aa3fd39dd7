"""The citizen page starts with today: the history ends tonight, what comes is a short list."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from server.db import make_engine, make_sessionmaker
from server.localtime import end_of_today
from server.models import Citizen, Visit, VisitType
from server.sealing import development_keyring
from server.settings import Settings
from tests.conftest import Client, login


async def _visit_a_minute_ago(settings: Settings, citizen_id: int) -> None:
    """A visit of the citizen planned a minute ago (today, or just before midnight yesterday)."""
    engine = make_engine(settings.database_url, keyring=development_keyring())
    try:
        async with make_sessionmaker(engine).begin() as session:
            citizen = await session.get(Citizen, citizen_id)
            vtype = await session.scalar(select(VisitType).where(VisitType.code == "reassurance"))
            assert citizen is not None and vtype is not None
            session.add(
                Visit(
                    citizen_id=citizen_id,
                    visit_type_id=vtype.id,
                    team_id=citizen.team_id,
                    planned_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1),
                )
            )
    finally:
        await engine.dispose()


async def test_overview_history_ends_today_and_upcoming_is_short(
    client: Client, demo: Settings
) -> None:
    """No future day in the history (today's visits on top); at most ten coming, soonest first."""
    await _visit_a_minute_ago(demo, 1)
    assert await login(client, "anna") == 303
    response = await client.get("/api/citizens/1/overview")
    assert response.status == 200
    body = await response.json()
    tonight = end_of_today(dt.datetime.now(dt.UTC), demo.zone)
    history = [dt.datetime.fromisoformat(v["planned_at"]) for v in body["visits"]]
    coming = [dt.datetime.fromisoformat(v["planned_at"]) for v in body["upcoming"]]
    assert history and all(at < tonight for at in history)
    assert history == sorted(history, reverse=True)
    assert 0 < len(coming) <= 10 and all(at >= tonight for at in coming)
    assert coming == sorted(coming)
    page = await (await client.get("/citizens/1")).text()
    assert "Kommende besøg" in page
