"""What needs a planner now: the visits nobody has, each with its candidates by continuity.

The rows come from the open ``unassigned_visit`` items the caller may see (the inbox's own
visibility rule), soonest visit first, with the ranking that automatic assignment uses so
"Tildel" can offer the best colleague first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..identity import StaffIdentity
from ..models import Citizen, InboxItem, Team, Visit, VisitType
from ..vocabulary import InboxKind
from .continuity import Candidate, load_continuity
from .inbox import ACTIVE
from .inbox_list import visible
from .status import FINAL

LIMIT = 200


@dataclass(frozen=True, slots=True)
class UnassignedRow:
    """An open visit with nobody to make it, and who could (best first)."""

    item_id: int
    visit_id: int
    citizen_id: int
    citizen_name: str
    team_name: str
    planned_at: dt.datetime
    type_name_da: str
    type_name_en: str
    few_new_faces: bool
    candidates: tuple[Candidate, ...]


async def unassigned(
    session: AsyncSession, identity: StaffIdentity, now: dt.datetime
) -> list[UnassignedRow]:
    """The visits of open unassigned-visit items the caller may see, soonest first."""
    rows = (
        await session.execute(
            select(InboxItem.id, Visit, Citizen, Team.name, VisitType)
            .join(Visit, Visit.id == InboxItem.visit_id)
            .join(Citizen, Citizen.id == Visit.citizen_id)
            .join(Team, Team.id == Visit.team_id)
            .join(VisitType, VisitType.id == Visit.visit_type_id)
            .where(
                InboxItem.kind == InboxKind.UNASSIGNED_VISIT,
                InboxItem.state.in_(ACTIVE),
                Visit.status.not_in(FINAL),
                await visible(session, identity),
            )
            .order_by(Visit.planned_at, Visit.id)
            .limit(LIMIT)
        )
    ).all()
    continuity = await load_continuity(session, now, {citizen.id for _, _, citizen, _, _ in rows})
    return [
        UnassignedRow(
            item_id=item_id,
            visit_id=visit.id,
            citizen_id=citizen.id,
            citizen_name=citizen.preferred_name or citizen.name,
            team_name=team_name,
            planned_at=visit.planned_at,
            type_name_da=vtype.name_da,
            type_name_en=vtype.name_en,
            few_new_faces=citizen.few_new_faces,
            candidates=tuple(continuity.ranked(citizen.id, visit.team_id, vtype.qualified_roles)),
        )
        for item_id, visit, citizen, team_name, vtype in rows
    ]
