"""Today's visits for the demo citizens, made directly from their plans (one per plan)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from server.db import make_engine, make_sessionmaker
from server.models import Channel, Citizen, Visit, VisitPlan
from server.sealing import development_keyring
from server.settings import Settings


async def seed_today(settings: Settings, *, offset_min: int = 0) -> dict[str, int]:
    """One visit per demo plan today (the first plan of each citizen due now); name → visit id."""
    tz = ZoneInfo(settings.timezone)
    now = dt.datetime.now(tz)
    engine = make_engine(settings.database_url, keyring=development_keyring())
    ids: dict[str, int] = {}
    try:
        async with make_sessionmaker(engine).begin() as session:
            rows = (
                await session.execute(
                    select(VisitPlan, Citizen)
                    .join(Citizen, Citizen.id == VisitPlan.citizen_id)
                    .order_by(Citizen.id, VisitPlan.local_time)
                )
            ).all()
            seen: set[int] = set()
            for plan, citizen in rows:
                first = citizen.id not in seen
                seen.add(citizen.id)
                at = (
                    now + dt.timedelta(minutes=offset_min) if first else now + dt.timedelta(hours=3)
                )
                visit = Visit(
                    plan_id=plan.id,
                    occurrence_key=f"test-{plan.id}",
                    citizen_id=citizen.id,
                    visit_type_id=plan.visit_type_id,
                    team_id=plan.team_id,
                    planned_at=at.astimezone(dt.UTC),
                    window_min=plan.window_min,
                    channel=Channel.SCREEN,
                )
                session.add(visit)
                await session.flush()
                if first:
                    ids[citizen.preferred_name or citizen.name] = visit.id
    finally:
        await engine.dispose()
    return ids
