"""Plain JSON forms of the book's values, for a book shared between processes (Redis).

Only ids and plain values cross: a staff member's profile travels without the session's CSRF
token (another node never needs it to route or to check a policy).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from types import MappingProxyType
from typing import Any

from ..identity import StaffIdentity
from ..vocabulary import CallState, PeerKind, Role
from .book import CallMeta, PeerProfile
from .registry import LiveCall, Participant


def profile_to_dict(profile: PeerProfile) -> dict[str, Any]:
    """A profile as plain values."""
    staff = profile.staff
    return {
        "kind": profile.kind.value,
        "identity_id": profile.identity_id,
        "name": profile.name,
        "role": profile.role,
        "org_id": profile.org_id,
        "photo_url": profile.photo_url,
        "team_ids": sorted(profile.team_ids),
        "citizen_id": profile.citizen_id,
        "kiosk_db_id": profile.kiosk_db_id,
        "relation": profile.relation,
        "staff": None if staff is None else _staff_to_dict(staff),
    }


def profile_from_dict(data: dict[str, Any]) -> PeerProfile:
    """The profile ``profile_to_dict`` wrote."""
    staff = data.get("staff")
    return PeerProfile(
        kind=PeerKind(data["kind"]),
        identity_id=data["identity_id"],
        name=data["name"],
        role=data["role"],
        org_id=data["org_id"],
        photo_url=data["photo_url"],
        team_ids=frozenset(data["team_ids"]),
        citizen_id=data["citizen_id"],
        kiosk_db_id=data["kiosk_db_id"],
        relation=data["relation"],
        staff=None if staff is None else _staff_from_dict(staff),
    )


def _staff_to_dict(staff: StaffIdentity) -> dict[str, Any]:
    data = asdict(staff)
    data["role"] = staff.role.value
    data["team_ids"] = sorted(staff.team_ids)
    data["csrf_token"] = ""  # a secret of the browser's session: it stays on its node
    return data


def _staff_from_dict(data: dict[str, Any]) -> StaffIdentity:
    return StaffIdentity(
        **{**data, "role": Role(data["role"]), "team_ids": frozenset(data["team_ids"])}
    )


def call_to_dict(call: LiveCall) -> dict[str, Any]:
    """A live call as plain values."""
    return {
        "call_id": call.call_id,
        "citizen_id": call.citizen_id,
        "state": call.state.value,
        "visit_id": call.visit_id,
        "invited": dict(call.invited),
        "max": call.max_participants,
        "seats": [
            [p.peer_id, p.kind.value, p.identity_id, p.resume_token, p.connected]
            for p in call.participants.values()
        ],
    }


def call_from_dict(data: dict[str, Any]) -> LiveCall:
    """The call ``call_to_dict`` wrote."""
    seats = {
        peer_id: Participant(peer_id, PeerKind(kind), identity_id, token, connected)
        for peer_id, kind, identity_id, token, connected in data["seats"]
    }
    return LiveCall(
        call_id=data["call_id"],
        citizen_id=data["citizen_id"],
        participants=MappingProxyType(seats),
        state=CallState(data["state"]),
        visit_id=data["visit_id"],
        invited=MappingProxyType(dict(data["invited"])),
        max_participants=data["max"],
    )


def meta_to_dict(meta: CallMeta | None) -> dict[str, Any] | None:
    """A call's facts as plain values."""
    return None if meta is None else asdict(meta)


def meta_from_dict(data: dict[str, Any] | None) -> CallMeta | None:
    """The facts ``meta_to_dict`` wrote."""
    return None if data is None else CallMeta(**data)


def dumps(data: object) -> str:
    """Compact JSON."""
    return json.dumps(data, separators=(",", ":"))
