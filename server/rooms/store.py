"""Database side of live calls: who a token belongs to, policy facts, and call records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..auth.authz import citizen_scope
from ..auth.identity import StaffIdentity
from ..models import (
    Call,
    CallParticipant,
    CallState,
    Channel,
    Citizen,
    Consent,
    ConsentKind,
    ContactPerson,
    KioskDevice,
    Organisation,
    ParticipantKind,
    Staff,
    StaffSession,
    Visit,
    VisitStatus,
    VisitType,
    utcnow,
)
from ..orgsettings import read_settings
from ..security import token_hash
from .policy import CitizenFacts, ConsentFacts, StaffRole, TimeWindow, VisitWindow


@dataclass(frozen=True, slots=True)
class KioskOwner:
    """A kiosk device that authenticated, and the citizen it belongs to."""

    kiosk_id: int
    label: str
    organisation_id: int
    citizen_id: int
    citizen_name: str


@dataclass(frozen=True, slots=True)
class VisitFacts:
    """The visit a call belongs to, as the ring and the auto-answer policy need it."""

    visit_id: int
    window: VisitWindow
    type_code: str
    camera_off: bool
    qualified_roles: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class RingTimes:
    """How long to ring and how long the auto-answer countdown lasts, for one organisation."""

    ring_timeout_s: int
    auto_answer_after_s: int


async def ring_times(session: AsyncSession, organisation_id: int, default: RingTimes) -> RingTimes:
    """The organisation's own choices where an administrator made them, else the defaults."""
    stored = await session.scalar(
        select(Organisation.settings).where(Organisation.id == organisation_id)
    )
    chosen = read_settings(stored)
    made = stored or {}
    return RingTimes(
        chosen.ring_timeout_s if "ring_timeout_s" in made else default.ring_timeout_s,
        chosen.auto_answer_after_s
        if "auto_answer_after_s" in made
        else default.auto_answer_after_s,
    )


async def kiosk_for_token(session: AsyncSession, token: str) -> KioskOwner | None:
    """The enrolled, unrevoked kiosk holding ``token``, with its citizen; else None."""
    row = (
        await session.execute(
            select(KioskDevice, Citizen)
            .join(Citizen, Citizen.id == KioskDevice.citizen_id)
            .where(KioskDevice.token_hash == token_hash(token), KioskDevice.revoked_at.is_(None))
        )
    ).first()
    if row is None:
        return None
    kiosk, citizen = row
    name = citizen.preferred_name or citizen.name
    return KioskOwner(kiosk.id, kiosk.label, kiosk.organisation_id, citizen.id, name)


async def mark_kiosk_seen(session: AsyncSession, kiosk_id: int) -> dt.datetime:
    """Record that the kiosk had a socket just now."""
    now = utcnow()
    await session.execute(
        update(KioskDevice).where(KioskDevice.id == kiosk_id).values(last_seen_at=now)
    )
    return now


async def citizen_facts(session: AsyncSession, citizen_id: int) -> CitizenFacts | None:
    """What the ring policy needs to know about a citizen."""
    citizen = await session.get(Citizen, citizen_id)
    if citizen is None:
        return None
    contacts = await session.scalars(
        select(ContactPerson.staff_id).where(ContactPerson.citizen_id == citizen_id)
    )
    consent = await session.scalar(
        select(func.count())
        .select_from(Consent)
        .where(
            Consent.citizen_id == citizen_id,
            Consent.kind == ConsentKind.SCREEN_VISITS,
            Consent.withdrawn_at.is_(None),
        )
    )
    return CitizenFacts(
        citizen_id=str(citizen.id),
        org_id=str(citizen.organisation_id),
        team_id=str(citizen.team_id),
        contact_person_ids=frozenset(str(c) for c in contacts),
        screen_visits_consent=bool(consent),
    )


async def auto_answer_consent(
    session: AsyncSession, citizen_id: int, tz: ZoneInfo
) -> ConsentFacts | None:
    """The citizen's active auto-answer consent with its scope, or None."""
    consent = await session.scalar(
        select(Consent)
        .where(
            Consent.citizen_id == citizen_id,
            Consent.kind == ConsentKind.AUTO_ANSWER,
            Consent.withdrawn_at.is_(None),
        )
        .order_by(Consent.granted_at.desc())
        .limit(1)
    )
    if consent is None:
        return None
    scope = consent.scope or {}
    return ConsentFacts(
        granted_at=consent.granted_at,
        windows=tuple(_window(w) for w in scope.get("windows", [])),
        caller_ids=frozenset(str(i) for i in scope.get("caller_ids", [])),
        caller_roles=frozenset(StaffRole(r) for r in scope.get("caller_roles", [])),
        tz=tz,
    )


def _window(raw: dict[str, object]) -> TimeWindow:
    weekdays = raw.get("weekdays")
    return TimeWindow(
        start=dt.time.fromisoformat(str(raw["start"])),
        end=dt.time.fromisoformat(str(raw["end"])),
        weekdays=frozenset(int(d) for d in weekdays)  # type: ignore[attr-defined]
        if weekdays
        else frozenset(range(7)),
    )


async def visit_facts(
    session: AsyncSession, citizen_id: int, visit_id: int | None, now: dt.datetime
) -> VisitFacts | None:
    """The named visit of this citizen, or else the screen visit whose window holds ``now``."""
    query = (
        select(Visit, VisitType)
        .join(VisitType, VisitType.id == Visit.visit_type_id)
        .where(Visit.citizen_id == citizen_id)
    )
    if visit_id is not None:
        query = query.where(Visit.id == visit_id)
    else:
        query = query.where(
            Visit.channel == Channel.SCREEN,
            Visit.planned_at.between(now - dt.timedelta(hours=4), now + dt.timedelta(hours=4)),
        )
    for visit, vtype in (await session.execute(query.order_by(Visit.planned_at))).all():
        window = VisitWindow(visit.planned_at, visit.window_min)
        if visit_id is not None or window.contains(now):
            return VisitFacts(
                visit.id,
                window,
                vtype.code,
                vtype.camera_off_by_default,
                frozenset(vtype.qualified_roles or ()),
            )
    return None


async def visible_citizen_ids(
    session: AsyncSession, identity: StaffIdentity, citizen_ids: Iterable[int]
) -> list[int]:
    """The subset of ``citizen_ids`` this staff member may see."""
    ids = list(citizen_ids)
    if not ids:
        return []
    rows = await session.scalars(
        select(Citizen.id).where(Citizen.id.in_(ids), citizen_scope(identity))
    )
    return list(rows)


async def kiosks_last_seen(
    session: AsyncSession, citizen_ids: Iterable[int]
) -> dict[int, dt.datetime | None]:
    """Last-seen time of each citizen's most recently seen active kiosk."""
    rows = await session.execute(
        select(KioskDevice.citizen_id, func.max(KioskDevice.last_seen_at))
        .where(KioskDevice.citizen_id.in_(list(citizen_ids)), KioskDevice.revoked_at.is_(None))
        .group_by(KioskDevice.citizen_id)
    )
    return {citizen_id: seen for citizen_id, seen in rows if citizen_id is not None}


async def staff_photo(session: AsyncSession, staff_id: int) -> str | None:
    """The staff member's photo URL, shown on the ringing tablet."""
    return await session.scalar(select(Staff.photo_url).where(Staff.id == staff_id))


async def create_call(
    session: AsyncSession,
    public_id: str,
    citizen_id: int,
    caller_staff_id: int,
    kiosk_id: int,
    visit_id: int | None,
    auto_answer: bool,
) -> None:
    """Persist a new ringing call with its first two participants."""
    call = Call(
        public_id=public_id,
        citizen_id=citizen_id,
        visit_id=visit_id,
        caller_staff_id=caller_staff_id,
        auto_answer=auto_answer,
    )
    session.add(call)
    await session.flush()
    session.add_all(
        [
            CallParticipant(call_id=call.id, kind=ParticipantKind.STAFF, staff_id=caller_staff_id),
            CallParticipant(call_id=call.id, kind=ParticipantKind.KIOSK, kiosk_id=kiosk_id),
        ]
    )


async def _call_id(session: AsyncSession, public_id: str) -> int | None:
    return await session.scalar(select(Call.id).where(Call.public_id == public_id))


async def mark_answered(
    session: AsyncSession, public_id: str, at: dt.datetime | None = None
) -> None:
    """The kiosk accepted (at ``at``); safe to run after the call was already ended."""
    await session.execute(
        update(Call)
        .where(Call.public_id == public_id, Call.answered_at.is_(None))
        .values(answered_at=at or utcnow())
    )
    # Written off the signalling path: a quick hang-up may have ended the row first.
    await session.execute(
        update(Call)
        .where(Call.public_id == public_id, Call.state == CallState.RINGING)
        .values(state=CallState.ACTIVE)
    )


async def add_participant(session: AsyncSession, public_id: str, staff_id: int) -> None:
    """A colleague joined."""
    call_id = await _call_id(session, public_id)
    if call_id is not None:
        session.add(CallParticipant(call_id=call_id, kind=ParticipantKind.STAFF, staff_id=staff_id))


async def participant_left(
    session: AsyncSession, public_id: str, kind: ParticipantKind, identity_id: int
) -> None:
    """Close a participant's open time in the call."""
    call_id = await _call_id(session, public_id)
    column = CallParticipant.staff_id if kind is ParticipantKind.STAFF else CallParticipant.kiosk_id
    await session.execute(
        update(CallParticipant)
        .where(
            CallParticipant.call_id == call_id,
            column == identity_id,
            CallParticipant.left_at.is_(None),
        )
        .values(left_at=utcnow())
    )


async def end_call(session: AsyncSession, public_id: str, reason: str) -> None:
    """The call is over: state, end time and reason; everyone still in it leaves now."""
    now = utcnow()
    call_id = await _call_id(session, public_id)
    await session.execute(
        update(Call)
        .where(Call.id == call_id)
        .values(state=CallState.ENDED, ended_at=now, end_reason=reason)
    )
    await session.execute(
        update(CallParticipant)
        .where(CallParticipant.call_id == call_id, CallParticipant.left_at.is_(None))
        .values(left_at=now)
    )


# A documented, escalated or cancelled visit never changes because of a call.
_FINAL_VISIT = (VisitStatus.DONE, VisitStatus.MISSED, VisitStatus.CANCELLED)


@dataclass(frozen=True, slots=True)
class VisitChange:
    """A visit whose status a call just changed (for the team's live list)."""

    visit_id: int
    citizen_id: int
    team_id: int
    status: VisitStatus


async def visit_follows_call(
    session: AsyncSession, visit_id: int, status: VisitStatus | None
) -> VisitChange | None:
    """Move an open visit to ``status``; None means back to where the call found it
    (planned, or not answered after earlier failed attempts). Final visits are left alone."""
    visit = await session.get(Visit, visit_id)
    if visit is None or visit.status in _FINAL_VISIT:
        return None
    if status is None:
        status = VisitStatus.NOT_ANSWERED if visit.attempts else VisitStatus.PLANNED
    visit.status = status
    return VisitChange(visit.id, visit.citizen_id, visit.team_id, status)


async def session_still_valid(session: AsyncSession, session_id: int) -> bool:
    """The login behind a staff socket still exists, has not expired, and its owner is active."""
    row = (
        await session.execute(
            select(StaffSession.expires_at, Staff.active)
            .join(Staff, Staff.id == StaffSession.staff_id)
            .where(StaffSession.id == session_id)
        )
    ).first()
    return row is not None and row.active and row.expires_at > utcnow()
