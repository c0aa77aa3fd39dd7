"""A relative rings the citizen's tablet from a personal ``call`` link (issue 13, item 7).

Everything that allows it is checked on every ring, not only when the link was made: the link
(open, not revoked or expired, made for calls), the citizen's ``relative_call`` consent for that
relative (``citizens.relative_links.consented``), the organisation's ``relatives_may_call``, the
citizen's consent to screen visits at all, and a limit of rings per link. A ring from a
relative is never auto-answered (the signalling edge sends ``auto_answer_after_s: null``).

The call is stored as an ordinary call row without a staff caller (``caller_staff_id`` null,
the kiosk its only recorded participant); who rang is in the audit log
(``relative_call.ring``, subject the link), which is also what the rate limit counts, so the
limit holds across server processes and restarts.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit, orgsettings
from ..citizens import relative_links
from ..citizens.relative_links import LinkState
from ..models import (
    AuditEvent,
    Call,
    CallParticipant,
    Citizen,
    Consent,
    LinkPurpose,
    Relative,
    RelativeLink,
)
from ..vocabulary import ConsentKind, PeerKind

RINGS_PER_WINDOW = 3
RING_WINDOW = dt.timedelta(minutes=10)
RING_ACTION = "relative_call.ring"
REFUSED_ACTION = "relative_call.refused"


class Refusal(enum.StrEnum):
    """Why a relative may not ring now (the audit event's reason)."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    NO_CONSENT = "no_consent"
    NOT_A_CALL_LINK = "not_a_call_link"
    CALLS_OFF = "calls_off"
    NO_SCREEN_VISITS = "no_screen_visits"
    OTHER_CITIZEN = "other_citizen"
    TOO_MANY = "too_many"
    OFFLINE = "offline"  # the tablet has no socket
    BUSY = "busy"  # the citizen is in a call


STATE_REFUSAL = {
    LinkState.UNKNOWN: Refusal.UNKNOWN,
    LinkState.EXPIRED: Refusal.EXPIRED,
    LinkState.REVOKED: Refusal.REVOKED,
    LinkState.NO_CONSENT: Refusal.NO_CONSENT,
}


@dataclass(frozen=True, slots=True)
class Caller:
    """The relative behind a call link, as the tablet shows her."""

    link_id: int
    relative_id: int
    citizen_id: int
    organisation_id: int
    name: str
    relation: str
    citizen_name: str  # the citizen's preferred first name, for "Ring til …"


@dataclass(frozen=True, slots=True)
class Check:
    """A link checked now: ``caller`` when it may ring, else the ``refusal``."""

    refusal: Refusal | None
    caller: Caller | None = None
    link: RelativeLink | None = None
    org_id: int | None = None  # the citizen's organisation, for the audit log

    def refused(self, refusal: Refusal) -> Check:
        """The same link, refused for ``refusal``."""
        org_id = self.caller.organisation_id if self.caller is not None else self.org_id
        return Check(refusal, None, self.link, org_id)


def first_name(citizen: Citizen) -> str:
    """What a relative calls the citizen on the page ("Ring til Karen")."""
    return (citizen.preferred_name or citizen.name).split()[0]


async def _judge(
    session: AsyncSession,
    link: RelativeLink | None,
    relative: Relative | None,
    citizen: Citizen | None,
    now: dt.datetime,
) -> Check:
    """The link's state, its purpose and the organisation's setting (the plainest reason first)."""
    if link is None or relative is None or citizen is None:
        return Check(Refusal.UNKNOWN)
    org_id = citizen.organisation_id
    if link.purpose is not LinkPurpose.CALL:
        return Check(Refusal.NOT_A_CALL_LINK, link=link, org_id=org_id)
    consented = await relative_links.consented(session, relative, link.purpose)
    state = relative_links.state_of(link, consented, now)
    if state is not LinkState.OPEN:
        return Check(STATE_REFUSAL[state], link=link, org_id=org_id)
    settings = await orgsettings.load(session, citizen.organisation_id)
    if not settings.relatives_may_call:
        return Check(Refusal.CALLS_OFF, link=link, org_id=org_id)
    caller = Caller(
        link_id=link.id,
        relative_id=relative.id,
        citizen_id=citizen.id,
        organisation_id=citizen.organisation_id,
        name=relative.name,
        relation=relative.relation,
        citizen_name=first_name(citizen),
    )
    return Check(None, caller, link, org_id)


async def by_token(session: AsyncSession, token: str, now: dt.datetime) -> Check:
    """What a call link's token allows now (the page and the socket's ``hello``)."""
    found = await relative_links.resolve(session, token, now)
    return await _judge(session, found.link, found.relative, found.citizen, now)


async def may_ring(
    session: AsyncSession, link_id: int, citizen_id: int | None, now: dt.datetime
) -> Check:
    """Everything checked again for one ring of ``citizen_id`` through link ``link_id``."""
    link = await session.get(RelativeLink, link_id)
    relative = await session.get(Relative, link.relative_id) if link is not None else None
    citizen = await session.get(Citizen, link.citizen_id) if link is not None else None
    check = await _judge(session, link, relative, citizen, now)
    caller = check.caller
    if caller is None:
        return check
    if citizen_id != caller.citizen_id:
        return check.refused(Refusal.OTHER_CITIZEN)
    if not await _screen_visits(session, caller.citizen_id):
        return check.refused(Refusal.NO_SCREEN_VISITS)
    if await rings_since(session, link_id, now - RING_WINDOW) >= RINGS_PER_WINDOW:
        return check.refused(Refusal.TOO_MANY)
    return check


async def _screen_visits(session: AsyncSession, citizen_id: int) -> bool:
    found = await session.scalar(
        select(Consent.id).where(
            Consent.citizen_id == citizen_id, Consent.in_force(ConsentKind.SCREEN_VISITS)
        )
    )
    return found is not None


async def rings_since(session: AsyncSession, link_id: int, since: dt.datetime) -> int:
    """How many times this link rang the tablet since ``since`` (from the audit log)."""
    count = await session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.action == RING_ACTION,
            AuditEvent.subject_kind == "relative_link",
            AuditEvent.subject_id == str(link_id),
            AuditEvent.at >= since,
        )
    )
    return int(count or 0)


def record_event(
    session: AsyncSession, action: str, check: Check, detail: Mapping[str, object]
) -> None:
    """An audit event in the relative's name about the link, under the citizen's organisation."""
    caller, link = check.caller, check.link
    full = dict(detail)
    actor, subject = "anonymous", None
    if caller is not None:
        full |= {"citizen": caller.citizen_id, "relative": caller.relative_id}
        actor, subject = f"relative:{caller.relative_id}", ("relative_link", caller.link_id)
    elif link is not None:
        full |= {"citizen": link.citizen_id, "relative": link.relative_id}
        actor, subject = f"relative:{link.relative_id}", ("relative_link", link.id)
    event = audit.record(session, action, actor=actor, subject=subject, detail=full)
    event.organisation_id = caller.organisation_id if caller is not None else check.org_id


async def record_ring(
    session: AsyncSession,
    caller: Caller,
    call_id: str,
    kiosk_id: int | None,
    *,
    owner: str,
    lease_until: dt.datetime,
) -> None:
    """The call row (no staff caller), the kiosk as participant, and the audit event."""
    call = Call(
        public_id=call_id,
        citizen_id=caller.citizen_id,
        visit_id=None,
        caller_staff_id=None,
        auto_answer=False,
        owner=owner,
        lease_until=lease_until,
    )
    session.add(call)
    await session.flush()
    if kiosk_id is not None:
        session.add(CallParticipant(call_id=call.id, kind=PeerKind.KIOSK, kiosk_id=kiosk_id))
    record_event(session, RING_ACTION, Check(None, caller), {"call": call_id})
