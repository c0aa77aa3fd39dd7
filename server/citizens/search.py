"""Finding a citizen by name within the caller's scope, with their team and next visit.

Matching is done in Python on the scoped names (casefolded, Unicode-normalised), because
neither SQLite's ``lower()`` nor PostgreSQL's under the C locale folds Æ, Ø and Å; a scope is
an organisation's citizens at most, a few thousand short rows.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..auth.scope import citizen_scope
from ..identity import StaffIdentity
from ..models import Citizen, Team, Visit, VisitType
from ..visits.status import FINAL

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
QUERY_MAX = 100


@dataclass(frozen=True, slots=True)
class CitizenHit:
    """A citizen found: who, which team, and the next open visit (if any)."""

    id: int
    name: str
    preferred_name: str | None
    team_id: int
    team_name: str
    photo_url: str | None
    next_visit_at: dt.datetime | None = None
    next_visit_type: str | None = None  # the type's Danish name
    next_visit_type_en: str | None = None


def fold(text: str) -> str:
    """A form of ``text`` for matching: NFC, casefolded, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def matches(needle: str, name: str, preferred: str | None) -> bool:
    """Whether the folded ``needle`` occurs in the name or the preferred name."""
    return needle in fold(name) or (preferred is not None and needle in fold(preferred))


async def search(
    session: AsyncSession,
    identity: StaffIdentity,
    query: str,
    now: dt.datetime,
    limit: int = DEFAULT_LIMIT,
) -> list[CitizenHit]:
    """Citizens in scope whose name or preferred name contains ``query`` (all when empty)."""
    needle = fold(query[:QUERY_MAX])
    rows = await session.execute(
        select(
            Citizen.id,
            Citizen.name,
            Citizen.preferred_name,
            Citizen.team_id,
            Team.name,
            Citizen.photo_url,
        )
        .join(Team, Team.id == Citizen.team_id)
        .where(citizen_scope(identity))
        .order_by(Citizen.name, Citizen.id)
    )
    found = [CitizenHit(*row) for row in rows if matches(needle, row[1], row[2])][:limit]
    upcoming = await next_visits(session, [hit.id for hit in found], now)
    return [_with_next(hit, upcoming.get(hit.id)) for hit in found]


def _with_next(hit: CitizenHit, upcoming: tuple[dt.datetime, str, str] | None) -> CitizenHit:
    if upcoming is None:
        return hit
    at, name_da, name_en = upcoming
    return CitizenHit(
        hit.id,
        hit.name,
        hit.preferred_name,
        hit.team_id,
        hit.team_name,
        hit.photo_url,
        at,
        name_da,
        name_en,
    )


async def next_visits(
    session: AsyncSession, citizen_ids: Sequence[int], now: dt.datetime
) -> dict[int, tuple[dt.datetime, str, str]]:
    """Each citizen's next open visit from now on: (planned at, type in Danish and English)."""
    if not citizen_ids:
        return {}
    first = (
        select(Visit.citizen_id, func.min(Visit.planned_at).label("at"))
        .where(
            Visit.citizen_id.in_(citizen_ids),
            Visit.planned_at >= now,
            Visit.status.not_in(FINAL),
        )
        .group_by(Visit.citizen_id)
        .subquery()
    )
    rows = await session.execute(
        select(Visit.citizen_id, Visit.planned_at, VisitType.name_da, VisitType.name_en)
        .join(first, (first.c.citizen_id == Visit.citizen_id) & (first.c.at == Visit.planned_at))
        .join(VisitType, VisitType.id == Visit.visit_type_id)
        .where(Visit.status.not_in(FINAL))
        .order_by(Visit.id)
    )
    result: dict[int, tuple[dt.datetime, str, str]] = {}
    for citizen_id, at, name_da, name_en in rows:
        result.setdefault(citizen_id, (at, name_da, name_en))
    return result
