"""The one writer of ``Visit.status``: every change goes through the transition table.

Each write is a conditional UPDATE (``status IN`` the change's sources), so two processes, or
a nurse and the missed-visit ladder, never both move a visit: the loser's write matches no row
and it learns that the visit moved on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import Visit
from ..vocabulary import EndReason
from .status import TRANSITIONS, Change, after_call
from .updates import VisitUpdate, update_of


async def move(session: AsyncSession, visit: Visit, change: Change, **values: Any) -> bool:
    """Apply ``change`` (and the other column ``values``) if the visit's status allows it now.

    True when it did; the loaded ``visit`` then shows the new values.
    """
    if not await move_id(session, visit.id, change, **values):
        return False
    visit.status = TRANSITIONS[change].target
    for name, value in values.items():
        setattr(visit, name, value)
    return True


async def move_id(session: AsyncSession, visit_id: int, change: Change, **values: Any) -> bool:
    """``move`` for a visit known only by its id."""
    rule = TRANSITIONS[change]
    result = await session.execute(
        update(Visit)
        .where(Visit.id == visit_id, Visit.status.in_(rule.sources))
        .values(status=rule.target, **values)
    )
    return getattr(result, "rowcount", 0) == 1


async def move_ids(session: AsyncSession, visit_ids: Sequence[int], change: Change) -> list[int]:
    """Apply ``change`` to each visit whose status allows it; the ids that moved."""
    return [visit_id for visit_id in visit_ids if await move_id(session, visit_id, change)]


async def follow_call(
    session: AsyncSession, visit_id: int, change: Change | EndReason
) -> VisitUpdate | None:
    """Let a visit follow its call: rung, answered, or (given the call's end reason) ended.

    None when the visit is gone or final (a documented, escalated or cancelled visit never
    changes because of a call).
    """
    visit = await session.get(Visit, visit_id)
    if visit is None:
        return None
    if isinstance(change, EndReason):
        change = after_call(change, visit.attempts)
    if not await move(session, visit, change):
        return None
    return update_of(visit)
