"""Meeting invites: create, list, revoke (staff), and decide whether one may be used now.

A token is shown once and only its SHA-256 is stored; a PIN (optional, six digits, shown once)
is stored as an Argon2id hash. An invite works from ``OPENS_BEFORE`` before the meeting until
its planned end plus ``CLOSES_AFTER``. A relative's invite needs the citizen's ``relative_join``
consent for that relative, checked when it is made and on every use.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..citizens.consents import Unprocessable, active_kind
from ..errors import Conflict, Forbidden
from ..identity import StaffIdentity
from ..models import Citizen, MeetingInvite, Relative, Visit, VisitType
from ..models.meetings import InviteeKind
from ..security import hash_password_off_loop, new_token, token_hash, verify_password_off_loop
from ..translatable import N_
from ..vocabulary import ConsentKind, Role

MEETING_TYPES = frozenset({"visitation_meeting", "startup_meeting"})
HOST_ROLES = frozenset({Role.NURSE, Role.VISITATOR})
OPENS_BEFORE = dt.timedelta(minutes=15)
CLOSES_AFTER = dt.timedelta(minutes=30)  # a meeting may run over its planned length
PIN_FAILURES_BEFORE_LOCK = 5
PIN_LOCK = dt.timedelta(minutes=15)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class NotAMeeting(Unprocessable):
    """Invites are for visitation and start-up meetings only."""

    code = "not_a_meeting"
    default_message = N_("Kun møder kan have gæster.")


class MeetingOver(Conflict):
    """The meeting has ended: nobody can be invited to it any more."""

    code = "meeting_over"
    default_message = N_("Mødet er slut.")


class NotHost(Forbidden):
    """Only a nurse or a visitator who may see the citizen hosts a meeting."""

    code = "not_host"
    default_message = N_("Kun en sygeplejerske eller en visitator kan invitere til møder.")


class UnknownRelative(Unprocessable):
    """The relative is not one of this citizen's (current) relatives."""

    code = "unknown_relative"
    default_message = N_("Den pårørende findes ikke hos borgeren.")


class NoConsent(Forbidden):
    """The citizen has not consented to this relative joining meetings."""

    code = "consent_missing"
    default_message = N_("Borgeren har ikke givet samtykke til, at den pårørende deltager.")


class NameRequired(Unprocessable):
    """A guest invite needs the guest's name."""

    code = "name_required"
    default_message = N_("Skriv gæstens navn.")


class BadEmail(Unprocessable):
    """Not an e-mail address."""

    code = "invalid_email"
    default_message = N_("E-mailadressen ser forkert ud.")


class AlreadyRevoked(Conflict):
    """The invite was already revoked."""

    code = "already_revoked"
    default_message = N_("Invitationen er allerede trukket tilbage.")


class InviteState(enum.StrEnum):
    """What a token holder gets when using an invite now."""

    OPEN = "open"
    UNKNOWN = "unknown"
    REVOKED = "revoked"
    NOT_YET = "not_yet"
    EXPIRED = "expired"
    LOCKED = "locked"
    NO_CONSENT = "consent_withdrawn"


@dataclass(frozen=True, slots=True)
class InviteRequest:
    """What staff asked for."""

    kind: InviteeKind
    relative_id: int | None = None
    name: str | None = None
    email: str | None = None
    pin: bool = False


@dataclass(frozen=True, slots=True)
class Created:
    """A new invite with its token and PIN, which exist in clear only now."""

    invite: MeetingInvite
    token: str
    pin: str | None


@dataclass(frozen=True, slots=True)
class Lookup:
    """An invite found by its token (or not), and whether it may be used now."""

    state: InviteState
    invite: MeetingInvite | None = None
    organisation_id: int | None = None


def validity(visit: Visit) -> tuple[dt.datetime, dt.datetime]:
    """From when until when an invite to this meeting works."""
    start = visit.planned_at
    return start - OPENS_BEFORE, start + dt.timedelta(minutes=visit.duration_min) + CLOSES_AFTER


def check_host(identity: StaffIdentity) -> None:
    """Nurses and visitators host meetings (the citizen's visibility is checked before)."""
    if identity.role not in HOST_ROLES:
        raise NotHost()


async def meeting_type(session: AsyncSession, visit: Visit) -> str:
    """The visit's type code; raise unless it is a meeting."""
    code = await session.scalar(select(VisitType.code).where(VisitType.id == visit.visit_type_id))
    if code not in MEETING_TYPES:
        raise NotAMeeting()
    return str(code)


async def create(
    session: AsyncSession,
    author: StaffIdentity,
    visit: Visit,
    wanted: InviteRequest,
    now: dt.datetime,
) -> Created:
    """Make an invite for one person to one meeting (the caller audits and commits)."""
    check_host(author)
    await meeting_type(session, visit)
    valid_from, valid_until = validity(visit)
    if valid_until <= now:
        raise MeetingOver()
    name, email, relative_id = await _invitee(session, visit, wanted)
    token = new_token(32)
    pin = f"{secrets.randbelow(10**6):06d}" if wanted.pin else None
    invite = MeetingInvite(
        visit_id=visit.id,
        citizen_id=visit.citizen_id,
        kind=wanted.kind,
        relative_id=relative_id,
        name=name,
        email=email,
        token_hash=token_hash(token),
        pin_hash=await hash_password_off_loop(pin) if pin else None,
        valid_from=valid_from,
        valid_until=valid_until,
        created_by_staff_id=author.staff_id,
        created_at=now,
    )
    session.add(invite)
    await session.flush()
    return Created(invite, token, pin)


async def _invitee(
    session: AsyncSession, visit: Visit, wanted: InviteRequest
) -> tuple[str, str | None, int | None]:
    """Name, e-mail and relative of the invitee, checked (a relative's consent included)."""
    email = (wanted.email or "").strip() or None
    if email is not None and not EMAIL.match(email):
        raise BadEmail()
    if wanted.kind is InviteeKind.GUEST:
        name = (wanted.name or "").strip()
        if not name:
            raise NameRequired()
        return name, email, None
    relative = await session.get(Relative, wanted.relative_id) if wanted.relative_id else None
    if relative is None or relative.citizen_id != visit.citizen_id or relative.removed_at:
        raise UnknownRelative()
    if await active_kind(session, relative, ConsentKind.RELATIVE_JOIN) is None:
        raise NoConsent()
    return (wanted.name or "").strip() or relative.name, email or relative.email, relative.id


async def for_visit(session: AsyncSession, visit_id: int) -> list[MeetingInvite]:
    """The meeting's invites, oldest first."""
    rows = await session.scalars(
        select(MeetingInvite).where(MeetingInvite.visit_id == visit_id).order_by(MeetingInvite.id)
    )
    return list(rows)


def revoke(invite: MeetingInvite, now: dt.datetime) -> None:
    """The invite stops working at once (a guest in the lobby or the call is not thrown out
    by this alone: the host removes them)."""
    if invite.revoked_at is not None:
        raise AlreadyRevoked()
    invite.revoked_at = now


def state_of(invite: MeetingInvite, now: dt.datetime) -> InviteState:
    """Whether the invite works now, from its own fields (consent is checked apart)."""
    if invite.revoked_at is not None:
        return InviteState.REVOKED
    if now >= invite.valid_until:
        return InviteState.EXPIRED
    if now < invite.valid_from:
        return InviteState.NOT_YET
    if invite.locked_until is not None and now < invite.locked_until:
        return InviteState.LOCKED
    return InviteState.OPEN


async def lookup(session: AsyncSession, token: str, now: dt.datetime) -> Lookup:
    """Find the invite behind a token and decide whether it may be used now."""
    invite = await session.scalar(
        select(MeetingInvite).where(MeetingInvite.token_hash == token_hash(token))
    )
    if invite is None:
        return Lookup(InviteState.UNKNOWN)
    org_id = await session.scalar(
        select(Citizen.organisation_id).where(Citizen.id == invite.citizen_id)
    )
    state = state_of(invite, now)
    if state is InviteState.OPEN and not await consent_holds(session, invite):
        state = InviteState.NO_CONSENT
    return Lookup(state, invite, org_id)


async def consent_holds(session: AsyncSession, invite: MeetingInvite) -> bool:
    """A guest's invite needs no consent; a relative's needs the join consent in force now."""
    if invite.kind is InviteeKind.GUEST:
        return True
    relative = await session.get(Relative, invite.relative_id) if invite.relative_id else None
    if relative is None or relative.removed_at is not None:
        return False
    return await active_kind(session, relative, ConsentKind.RELATIVE_JOIN) is not None


async def check_pin(invite: MeetingInvite, pin: str, now: dt.datetime) -> bool:
    """True for the right PIN; a wrong one counts, and enough of them lock the invite."""
    if invite.pin_hash is None:
        return True
    if pin.isdigit() and len(pin) == 6 and await verify_password_off_loop(invite.pin_hash, pin):
        invite.failed_attempts = 0
        return True
    invite.failed_attempts += 1
    if invite.failed_attempts >= PIN_FAILURES_BEFORE_LOCK:
        invite.locked_until = now + PIN_LOCK
        invite.failed_attempts = 0
    return False


def first_use(invite: MeetingInvite, device_hash: str, now: dt.datetime) -> bool:
    """Remember the first device; True when this device is another one."""
    if invite.device_hash is None:
        invite.device_hash = device_hash
        invite.first_used_at = now
        return False
    return invite.device_hash != device_hash
