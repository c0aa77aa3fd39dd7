"""Key figures per team and week as JSON: `GET /api/figures?team_id=&weeks=` (see figures.py)."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from .. import audit
from ..auth.authz import require_staff
from ..auth.scope import visible_teams
from ..errors import Forbidden, InvalidInput
from ..keys import sessionmaker_key, settings_key
from ..localtime import local_day
from ..models import utcnow
from ..query import query_int
from ..scheduling.figures import MAX_WEEKS, WeekFigures, team_figures
from ..translatable import N_
from .models import WireModel
from .spec import ApiRoutes

api = ApiRoutes(tag="figures")
DEFAULT_WEEKS = 8


class WeekOut(WireModel):
    """One week's figures; rates are 0..1, null when there was nothing to count."""

    week: str
    starts: dt.date
    visits: int
    calls: int
    on_time_rate: float | None
    answer_rate: float | None
    missed: int
    escalated: int
    continuity: float | None
    screen_share: float | None
    median_call_s: float | None
    continuity_breaks: int
    continuity_break_share: float | None


class TeamOut(WireModel):
    """One team's weeks, oldest first."""

    team_id: int
    team_name: str
    weeks: list[WeekOut]


class Figures(WireModel):
    """The figures of the teams asked for (default: every team the caller may see)."""

    weeks: list[str]
    teams: list[TeamOut]


def _week_out(week: WeekFigures) -> WeekOut:
    return WeekOut(
        week=week.week,
        starts=week.starts,
        visits=week.visits,
        calls=week.calls,
        on_time_rate=week.on_time_rate,
        answer_rate=week.answer_rate,
        missed=week.missed,
        escalated=week.escalated,
        continuity=week.continuity,
        screen_share=week.screen_share,
        median_call_s=week.median_call_s,
        continuity_breaks=week.continuity_breaks,
        continuity_break_share=week.continuity_break_share,
    )


@api.get("/api/figures", response=Figures, summary="Key figures per team and week")
async def get_figures(request: web.Request) -> Figures:
    """On-time and answer rates, missed and escalated, continuity, screen share, call length."""
    identity = require_staff(request)
    weeks = query_int(request, "weeks", DEFAULT_WEEKS)
    if weeks is None or not 1 <= weeks <= MAX_WEEKS:
        raise InvalidInput(N_("weeks skal være fra 1 til {n}.", n=MAX_WEEKS))
    team_id = query_int(request, "team_id")
    zone = request.app[settings_key].zone
    async with request.app[sessionmaker_key]() as session:
        teams = await visible_teams(session, identity)
        if team_id is not None:
            teams = [t for t in teams if t.id == team_id]
            if not teams:
                raise Forbidden(N_("Du har ikke adgang til det teams nøgletal."))
        today = local_day(utcnow(), zone)
        figures = await team_figures(session, [t.id for t in teams], today, weeks, zone)
        await audit.record_read(
            session,
            "figures.read",
            actor=identity,
            detail={"team_ids": [t.id for t in teams], "weeks": weeks},
            request=request,
        )
    labels = [w.week for w in next(iter(figures.values()), [])]
    return Figures(
        weeks=labels,
        teams=[
            TeamOut(team_id=t.id, team_name=t.name, weeks=[_week_out(w) for w in figures[t.id]])
            for t in teams
        ],
    )
