"""Turning peers into the plain facts the call policy decides on."""

from __future__ import annotations

from ..bounds import out_of_range
from ..rooms.book import PeerProfile
from ..rooms.policy import CallerFacts
from ..vocabulary import Role


def caller_facts(profile: PeerProfile) -> CallerFacts:
    """The policy's view of an authenticated peer."""
    return CallerFacts(
        kind=profile.kind,
        user_id=profile.identity_id,
        org_id=profile.org_id,
        role=Role(profile.role) if profile.role in set(Role) else None,
        team_ids=profile.team_ids,
    )


def db_id(wire_id: str) -> int | None:
    """Our database ids travel as decimal strings; anything else, or a number past what the
    database holds (PostgreSQL's integer), names nothing."""
    if not (wire_id.isascii() and wire_id.isdigit()) or out_of_range(wire_id):
        return None
    return int(wire_id) or None
