"""Database side of live calls: the facts the call policy decides on, and the call records."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ScalarSelect, and_, case, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import (
    Call,
    CallParticipant,
    Citizen,
    Consent,
    ContactPerson,
    Organisation,
    Staff,
    Visit,
    VisitType,
    utcnow,
)
from ..orgsettings import read_settings, stored_settings
from ..visits.status import Window
from ..vocabulary import CallState, Channel, ConsentKind, EndReason, PeerKind, Role
from .policy import CitizenFacts, ConsentFacts, TimeWindow

logger = logging.getLogger(__name__)

# A call row written before leases existed has none: it counts as lost this long after its ring.
UNLEASED_LOST_AFTER = dt.timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class VisitFacts:
    """The visit a call belongs to, as the ring and the auto-answer policy need it."""

    visit_id: int
    window: Window
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
    return ring_times_of(await stored_settings(session, organisation_id), default)


def ring_times_of(made: dict[str, Any], default: RingTimes) -> RingTimes:
    """``ring_times`` on the organisation's stored settings JSON, already read."""
    chosen = read_settings(made)
    return RingTimes(
        chosen.ring_timeout_s if "ring_timeout_s" in made else default.ring_timeout_s,
        chosen.auto_answer_after_s
        if "auto_answer_after_s" in made
        else default.auto_answer_after_s,
    )


async def staff_organisation(session: AsyncSession, staff_id: int) -> int | None:
    """The organisation of an active staff member; None for an unknown or inactive id."""
    return await session.scalar(
        select(Staff.organisation_id).where(Staff.id == staff_id, Staff.active.is_(True))
    )


async def citizen_facts(session: AsyncSession, citizen_id: int) -> CitizenFacts | None:
    """What the ring policy needs to know about a citizen."""
    found = await ring_facts(session, citizen_id)
    return None if found is None else found[0]


async def ring_facts(
    session: AsyncSession, citizen_id: int
) -> tuple[CitizenFacts, dict[str, Any]] | None:
    """``citizen_facts`` with the organisation's stored settings (its ring times), in two
    round trips: the citizen, her consent and her organisation's settings, then her contact
    persons. A ring runs this before the tablet hears it, so every round trip counts."""
    consented = (
        select(func.count())
        .select_from(Consent)
        .where(Consent.citizen_id == citizen_id, Consent.in_force(ConsentKind.SCREEN_VISITS))
        .scalar_subquery()
    )
    row = (
        await session.execute(
            select(Citizen.organisation_id, Citizen.team_id, Organisation.settings, consented)
            .join(Organisation, Organisation.id == Citizen.organisation_id)
            .where(Citizen.id == citizen_id)
        )
    ).first()
    if row is None:
        return None
    contacts = await session.scalars(
        select(ContactPerson.staff_id).where(ContactPerson.citizen_id == citizen_id)
    )
    facts = CitizenFacts(
        citizen_id=str(citizen_id),
        org_id=str(row.organisation_id),
        team_id=str(row.team_id),
        contact_person_ids=frozenset(str(c) for c in contacts),
        screen_visits_consent=bool(row[3]),
    )
    return facts, dict(row.settings or {})


async def auto_answer_consent(
    session: AsyncSession, citizen_id: int, tz: ZoneInfo
) -> ConsentFacts | None:
    """The citizen's active auto-answer consent with its scope, or None.

    The scope is the register's shape (``windows``, ``callers``, ``staff_ids``; see
    `server.citizens.consents.AutoAnswerScope`), plus the older ``caller_ids``/``caller_roles``
    keys. A scope that cannot be read covers nothing: the kiosk then just rings.
    """
    consent = await session.scalar(
        select(Consent)
        .where(
            Consent.citizen_id == citizen_id,
            Consent.in_force(ConsentKind.AUTO_ANSWER),
        )
        .order_by(Consent.granted_at.desc())
        .limit(1)
    )
    if consent is None:
        return None
    try:
        return consent_facts(consent.granted_at, consent.scope or {}, tz)
    except (KeyError, TypeError, ValueError):
        logger.warning("unreadable auto-answer scope on consent %s", consent.id)
        return None


def consent_facts(granted_at: dt.datetime, scope: dict[str, Any], tz: ZoneInfo) -> ConsentFacts:
    """A stored auto-answer scope as the policy's facts; raises on a malformed scope."""
    callers = scope.get("callers")
    if isinstance(callers, str):  # the first demo data: "contact_persons_and_team"
        callers = callers.split("_and_")
    return ConsentFacts(
        granted_at=granted_at,
        windows=tuple(_window(w) for w in scope.get("windows") or []),
        callers=frozenset(str(c) for c in callers) if callers is not None else None,
        staff_ids=frozenset(str(i) for i in scope.get("staff_ids") or []),
        caller_ids=frozenset(str(i) for i in scope.get("caller_ids") or []),
        caller_roles=frozenset(Role(r) for r in scope.get("caller_roles") or []),
        tz=tz,
    )


def _window(raw: dict[str, Any]) -> TimeWindow:
    weekdays = raw.get("weekdays")
    return TimeWindow(
        start=dt.time.fromisoformat(str(raw["start"])),
        end=dt.time.fromisoformat(str(raw["end"])),
        weekdays=frozenset(int(d) for d in weekdays) if weekdays else frozenset(range(7)),
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
        window = Window(visit.planned_at, visit.window_min)
        if visit_id is not None or window.contains(now):
            return VisitFacts(
                visit.id,
                window,
                vtype.code,
                vtype.camera_off_by_default,
                frozenset(vtype.qualified_roles or ()),
            )
    return None


async def staff_photo(session: AsyncSession, staff_id: int) -> str | None:
    """The staff member's photo URL, shown on the ringing tablet."""
    return await session.scalar(select(Staff.photo_url).where(Staff.id == staff_id))


@dataclass(frozen=True, slots=True)
class NewCall:
    """A call about to ring: who rings whom, for which visit, and which process holds it."""

    public_id: str
    citizen_id: int
    caller_staff_id: int
    kiosk_id: int | None
    visit_id: int | None
    auto_answer: bool
    owner: str
    lease_until: dt.datetime


async def create_call(session: AsyncSession, new: NewCall) -> None:
    """Persist a new ringing call with its first two participants."""
    call = Call(
        public_id=new.public_id,
        citizen_id=new.citizen_id,
        visit_id=new.visit_id,
        caller_staff_id=new.caller_staff_id,
        auto_answer=new.auto_answer,
        owner=new.owner,
        lease_until=new.lease_until,
    )
    session.add(call)
    await session.flush()
    session.add(CallParticipant(call_id=call.id, kind=PeerKind.STAFF, staff_id=new.caller_staff_id))
    if new.kiosk_id is not None:
        session.add(CallParticipant(call_id=call.id, kind=PeerKind.KIOSK, kiosk_id=new.kiosk_id))


async def record_refused(
    session: AsyncSession, new: NewCall, reason: EndReason, at: dt.datetime
) -> None:
    """A ring that never reached the tablet (offline, busy): an attempt all the same."""
    session.add(
        Call(
            public_id=new.public_id,
            citizen_id=new.citizen_id,
            visit_id=new.visit_id,
            caller_staff_id=new.caller_staff_id,
            auto_answer=False,
            state=CallState.ENDED,
            ring_started_at=at,
            ended_at=at,
            end_reason=reason.value,
        )
    )
    await session.flush()


async def _call_id(session: AsyncSession, public_id: str) -> int | None:
    return await session.scalar(select(Call.id).where(Call.public_id == public_id))


async def mark_answered(
    session: AsyncSession, public_id: str, at: dt.datetime | None = None
) -> None:
    """The kiosk accepted (at ``at``); safe to run after the call was already ended.

    One statement: the first answer time stays, and only a ringing call becomes active
    (written off the signalling path: a quick hang-up may have ended the row first)."""
    await session.execute(
        update(Call)
        .where(Call.public_id == public_id)
        .values(
            answered_at=func.coalesce(Call.answered_at, at or utcnow()),
            state=case(
                (Call.state == CallState.RINGING, literal(CallState.ACTIVE, Call.state.type)),
                else_=Call.state,
            ),
        )
    )


async def add_participant(session: AsyncSession, public_id: str, staff_id: int) -> None:
    """A colleague joined."""
    call_id = await _call_id(session, public_id)
    if call_id is not None:
        session.add(CallParticipant(call_id=call_id, kind=PeerKind.STAFF, staff_id=staff_id))


async def participant_left(
    session: AsyncSession, public_id: str, kind: PeerKind, identity_id: int
) -> None:
    """Close a participant's open time in the call."""
    call_id = await _call_id(session, public_id)
    column = CallParticipant.staff_id if kind is PeerKind.STAFF else CallParticipant.kiosk_id
    await session.execute(
        update(CallParticipant)
        .where(
            CallParticipant.call_id == call_id,
            column == identity_id,
            CallParticipant.left_at.is_(None),
        )
        .values(left_at=utcnow())
    )


async def end_call(
    session: AsyncSession, public_id: str, reason: str, now: dt.datetime | None = None
) -> None:
    """The call is over: state, end time and reason; everyone still in it leaves now."""
    now = now or utcnow()
    await session.execute(
        update(Call)
        .where(Call.public_id == public_id)
        .values(state=CallState.ENDED, ended_at=now, end_reason=reason)
    )
    await session.execute(
        update(CallParticipant)
        .where(CallParticipant.call_id == _call_id_of(public_id), CallParticipant.left_at.is_(None))
        .values(left_at=now)
    )


def _call_id_of(public_id: str) -> ScalarSelect[int]:
    # A call's row id inside the statement that needs it (no round trip of its own).
    return select(Call.id).where(Call.public_id == public_id).scalar_subquery()


async def renew_leases(
    session: AsyncSession, owner: str, live: Collection[str], until: dt.datetime
) -> None:
    """This process still holds these live calls: move their leases on to ``until``.

    Only calls the process's book still holds: a row it failed to end (the database was away
    when the call ended) is not renewed; its end is written late, before the next reaping
    (``signaling.calls.record_unwritten_ends``), or, if the process died meanwhile, its lease
    runs out and it is ended as lost.
    """
    if live:
        await session.execute(
            update(Call)
            .where(Call.owner == owner, Call.public_id.in_(list(live)))
            .where(Call.state != CallState.ENDED)
            .values(lease_until=until)
        )


async def take_over_calls(
    session: AsyncSession, call_ids: Collection[str], owner: str, until: dt.datetime
) -> None:
    """Another process now holds these live calls (their node died): its owner id, its lease."""
    await session.execute(
        update(Call)
        .where(Call.public_id.in_(list(call_ids)), Call.state != CallState.ENDED)
        .values(owner=owner, lease_until=until)
    )


async def open_call_owners(session: AsyncSession) -> set[str]:
    """The processes that hold open calls, as the rows name them."""
    owners = await session.scalars(
        select(Call.owner).where(Call.state != CallState.ENDED, Call.owner.is_not(None)).distinct()
    )
    return {o for o in owners if o is not None}


@dataclass(frozen=True, slots=True)
class LostCall:
    """A call ended because the process that held it is gone."""

    public_id: str
    citizen_id: int
    visit_id: int | None


async def lost_calls(
    session: AsyncSession,
    now: dt.datetime,
    *,
    gone: Collection[str] = (),
    unleased_after: dt.timedelta = UNLEASED_LOST_AFTER,
) -> list[LostCall]:
    """The open calls whose lease ran out or whose owner is ``gone``, locked for ending.

    The caller renews its own live calls first, in the same transaction. A call from before
    leases existed (no lease) counts as lost ``unleased_after`` its ring.
    """
    rows = await session.execute(
        select(Call.public_id, Call.citizen_id, Call.visit_id)
        .where(
            Call.state != CallState.ENDED,
            or_(
                Call.lease_until < now,
                Call.owner.in_(list(gone)),
                and_(Call.lease_until.is_(None), Call.ring_started_at < now - unleased_after),
            ),
        )
        .order_by(Call.id)
        .with_for_update(skip_locked=True)
    )
    return [LostCall(*row) for row in rows]
