"""Whether a staff member can ring a citizen's tablet from the citizen page, and if not, why.

The decision is the ring policy's (``policy.may_ring``) on the same facts the signalling
handler loads, plus the one thing the policy does not know: that the citizen has a tablet.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..identity import StaffIdentity
from ..models import Citizen, Consent, KioskDevice, Team
from ..vocabulary import ConsentKind, PeerKind
from .policy import CallerFacts, may_ring
from .store import citizen_facts


class NoRing(StrEnum):
    """Why the "Ring op" button is disabled."""

    NO_TABLET = "no_tablet"
    NO_CONSENT = "no_consent"
    NOT_ALLOWED = "not_allowed"


@dataclass(frozen=True, slots=True)
class RingState:
    """Whether the caller can ring the citizen now; ``why`` when not."""

    citizen_id: int
    why: NoRing | None

    @property
    def allowed(self) -> bool:
        """The button is enabled."""
        return self.why is None


def caller_of(identity: StaffIdentity) -> CallerFacts:
    """The ring policy's view of a logged-in staff member."""
    return CallerFacts(
        kind=PeerKind.STAFF,
        user_id=str(identity.staff_id),
        org_id=str(identity.organisation_id),
        role=identity.role,
        team_ids=frozenset(str(t) for t in identity.team_ids),
    )


async def ring_state(session: AsyncSession, identity: StaffIdentity, citizen_id: int) -> RingState:
    """Whether ``identity`` may ring the citizen's tablet, checked in the order a nurse fixes."""
    tablet = await session.scalar(
        select(KioskDevice.id).where(
            KioskDevice.citizen_id == citizen_id, KioskDevice.revoked_at.is_(None)
        )
    )
    if tablet is None:
        return RingState(citizen_id, NoRing.NO_TABLET)
    facts = await citizen_facts(session, citizen_id)
    if facts is None or not facts.screen_visits_consent:
        return RingState(citizen_id, NoRing.NO_CONSENT)
    if not may_ring(caller_of(identity), facts):
        return RingState(citizen_id, NoRing.NOT_ALLOWED)
    return RingState(citizen_id, None)


@dataclass(frozen=True, slots=True)
class Unringable:
    """A citizen nobody can ring until a screen-visit consent is recorded."""

    id: int
    name: str
    team_name: str


async def without_screen_consent(
    session: AsyncSession, scope: ColumnElement[bool], limit: int = 200
) -> list[Unringable]:
    """The citizens within ``scope`` (the caller's ``citizen_scope``) nobody can ring yet.

    The scope comes from the edge: rooms/ does not import auth/ (auth's keys import rooms/).
    """
    consented = exists().where(
        Consent.citizen_id == Citizen.id,
        Consent.in_force(ConsentKind.SCREEN_VISITS),
    )
    rows = await session.execute(
        select(Citizen.id, Citizen.name, Team.name)
        .join(Team, Team.id == Citizen.team_id)
        .where(scope, ~consented)
        .order_by(Citizen.name, Citizen.id)
        .limit(limit)
    )
    return [Unringable(*row) for row in rows]
