"""Who makes a visit: assign a staff member, or the best one by continuity.

Only a qualified role may take a visit whose type names qualified roles (medication needs a
nurse), and a closed visit keeps whoever made it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy.ext.asyncio import AsyncSession

from ..errors import Conflict, InvalidInput
from ..identity import StaffIdentity
from ..models import Staff, Visit, VisitType
from .continuity import load_continuity, qualified
from .status import FINAL


class VisitClosed(Conflict):
    """A done, missed or cancelled visit is not reassigned."""

    default_message = "The visit is closed."


class NotQualified(Conflict):
    """The staff member's role may not take this visit type (e.g. medication needs a nurse)."""

    code = "not_qualified"
    default_message = "Only qualified roles may take this visit."


async def assign(
    session: AsyncSession,
    identity: StaffIdentity,
    visit: Visit,
    staff_id: int | None,
    *,
    exclude: Collection[int] = (),
    now: dt.datetime,
) -> int | None:
    """Give the open ``visit`` to ``staff_id`` or, without one, to the best by continuity."""
    if visit.status in FINAL:
        raise VisitClosed()
    vtype = await session.get_one(VisitType, visit.visit_type_id)
    if staff_id is None:
        continuity = await load_continuity(session, now, [visit.citizen_id])
        staff_id = continuity.choose(
            visit.citizen_id, visit.team_id, vtype.qualified_roles, exclude
        )
    else:
        staff = await session.get(Staff, staff_id)
        if staff is None or staff.organisation_id != identity.organisation_id:
            raise InvalidInput("No such staff member.")
        if not qualified(staff.role.value, vtype.qualified_roles):
            raise NotQualified()
    visit.assigned_staff_id = staff_id
    return staff_id
