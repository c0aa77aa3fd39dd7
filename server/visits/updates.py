"""Telling the team's open consoles that a visit changed, an alert was raised or the inbox moved.

``update_of`` is the one builder of a visit's update; ``TeamFeed`` is the port through which
services publish updates and alerts after their transaction commits. The signalling hub
implements it (and turns each value into its wire message, ``visit-updated`` or ``alert``);
services never import the hub, so the arrows keep pointing inward.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from ..models import Visit
from ..vocabulary import VisitStatus
from .inbox import AlertRaised, InboxChange


@dataclass(frozen=True, slots=True)
class VisitUpdate:
    """A visit on a team's list changed status."""

    visit_id: int
    citizen_id: int
    team_id: int
    status: VisitStatus


def update_of(visit: Visit) -> VisitUpdate:
    """The update that tells the visit's team where it stands now."""
    return VisitUpdate(visit.id, visit.citizen_id, visit.team_id, visit.status)


class TeamFeed(Protocol):
    """Where services publish what the team must see live (after their commit)."""

    async def visit_changed(self, update: VisitUpdate) -> None:
        """A visit of the team changed status."""

    async def alert_raised(self, alert: AlertRaised) -> None:
        """An alert for the team was stored."""

    async def inbox_changed(self, change: InboxChange) -> None:
        """An item of the team's inbox was added or changed state."""

    async def staff_alerted(self, staff_ids: Collection[int], alert: AlertRaised) -> None:
        """These staff members (outside the team's consoles, e.g. on call) must see an alert."""


class SilentFeed:
    """Nobody listens live (a command-line run, or the scheduler before the hub exists)."""

    async def visit_changed(self, update: VisitUpdate) -> None:
        """Nothing to tell; the rows are written all the same."""

    async def alert_raised(self, alert: AlertRaised) -> None:
        """Nothing to tell; the rows are written all the same."""

    async def inbox_changed(self, change: InboxChange) -> None:
        """Nothing to tell; the rows are written all the same."""

    async def staff_alerted(self, staff_ids: Collection[int], alert: AlertRaised) -> None:
        """Nothing to tell; the rows are written all the same."""
