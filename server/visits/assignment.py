"""Who makes a visit: assign a staff member, or the best one by continuity, never silently.

The rules, checked in this order (each refusal has its own stable code):

* A closed visit keeps whoever made it.
* A visit whose type names qualified roles (medication needs a nurse) goes to a qualified role
  and is never left with nobody, unless a nurse or visitator overrides with a reason
  (``not_qualified`` / ``no_qualified_staff``; ``override_not_allowed`` for other roles);
  the override is audited as ``visit.assign_override``.
* Someone outside the citizen's team who is not a contact person needs ``confirm_outside``
  (``continuity_confirm``); the visit then counts as a continuity break in the figures.
* For a citizen flagged "few new faces", someone unfamiliar (not a contact person, no visit in
  the last 30 days) needs ``confirm_new_face`` (``new_face_confirm``).
* A visit left with nobody gets one open ``unassigned_visit`` item in the team's inbox; giving
  it to someone closes that item.

Every assignment is audited (``visit.assign``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit
from ..errors import Conflict, InvalidInput, OverrideNotAllowed
from ..identity import StaffIdentity
from ..models import Citizen, Staff, Team, TeamMembership, Visit, VisitType
from ..translatable import N_, Msg
from ..vocabulary import OVERRIDE_ROLES, InboxKind
from . import inbox
from .continuity import Continuity, load_continuity, qualified
from .status import FINAL

REASON_MAX = 500
# A role in a sentence ("kræver en sygeplejerske"), for the refusals below.
_A_ROLE = {
    "nurse": N_("en sygeplejerske"),
    "carer": N_("en social- og sundhedshjælper"),
    "visitator": N_("en visitator"),
    "planner": N_("en planlægger"),
    "admin": N_("en administrator"),
}


class VisitClosed(Conflict):
    """A done, missed or cancelled visit is not reassigned."""

    default_message = N_("Besøget er afsluttet.")


class NotQualified(Conflict):
    """The staff member's role may not take this visit type (e.g. medication needs a nurse)."""

    code = "not_qualified"
    default_message = N_("Kun kvalificerede roller må tage dette besøg.")


class NoQualifiedStaff(Conflict):
    """Nobody suitable is free, and a qualified visit may not be left with nobody."""

    code = "no_qualified_staff"
    default_message = N_("Der blev ikke fundet nogen kvalificeret til dette besøg.")


class ContinuityConfirm(Conflict):
    """The staff member is outside the citizen's team and contact persons: confirm first."""

    code = "continuity_confirm"
    default_message = N_(
        "Medarbejderen er uden for borgerens team. Bekræft for at tildele alligevel."
    )


class NewFaceConfirm(Conflict):
    """The citizen does not tolerate new faces and this one is new: confirm first."""

    code = "new_face_confirm"
    default_message = N_("Borgeren tåler ikke nye ansigter. Bekræft for at tildele alligevel.")


@dataclass(frozen=True, slots=True)
class AssignChoice:
    """What the caller asks; no ``staff_id`` (and not ``unassign``): the best by continuity."""

    staff_id: int | None = None
    exclude: Collection[int] = ()
    unassign: bool = False
    override_reason: str | None = None
    confirm_outside: bool = False
    confirm_new_face: bool = False


@dataclass(frozen=True, slots=True)
class Assigned:
    """Who has the visit now, and what the team's consoles must be told after the commit."""

    visit_id: int
    staff_id: int | None
    continuity_break: bool
    override: bool
    inbox_changes: tuple[inbox.InboxChange, ...] = ()


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the checks need about the visit."""

    visit: Visit
    vtype: VisitType
    citizen: Citizen
    continuity: Continuity


@dataclass(frozen=True, slots=True)
class _Decision:
    """Who gets the visit, and what that took."""

    staff: Staff | None
    is_break: bool
    overridden: bool
    reason: str | None


async def assign(
    session: AsyncSession,
    identity: StaffIdentity,
    visit: Visit,
    choice: AssignChoice,
    *,
    now: dt.datetime,
    zone: ZoneInfo,
) -> Assigned:
    """Give the open ``visit`` to the chosen or best staff member (or nobody); see the rules."""
    if visit.status in FINAL:
        raise VisitClosed()
    facts = _Facts(
        visit,
        await session.get_one(VisitType, visit.visit_type_id),
        await session.get_one(Citizen, visit.citizen_id),
        await load_continuity(session, now, [visit.citizen_id]),
    )
    reason = _override_reason(identity, choice)
    if choice.staff_id is not None and not choice.unassign:
        staff = await _chosen_staff(session, identity, choice.staff_id)
        overridden = _check_qualified(facts, staff, reason)
        is_break = await _check_continuity(session, facts, staff, choice)
        decision = _Decision(staff, is_break, overridden, reason)
    else:
        auto, overridden = await _automatic(session, facts, choice, reason)
        decision = _Decision(auto, False, overridden, reason)
    return await _apply(session, identity, facts, decision, now, zone)


def _override_reason(identity: StaffIdentity, choice: AssignChoice) -> str | None:
    """The trimmed override reason, refused outright for roles that may not override."""
    reason = (choice.override_reason or "").strip()[:REASON_MAX] or None
    if reason is not None and identity.role not in OVERRIDE_ROLES:
        raise OverrideNotAllowed()
    return reason


async def _chosen_staff(session: AsyncSession, identity: StaffIdentity, staff_id: int) -> Staff:
    staff = await session.get(Staff, staff_id)
    if staff is None or staff.organisation_id != identity.organisation_id:
        raise InvalidInput(N_("Medarbejderen findes ikke."))
    if not staff.active:
        raise InvalidInput(N_("{name} er ikke længere aktiv.", name=staff.display_name))
    return staff


def _check_qualified(facts: _Facts, staff: Staff, override: str | None) -> bool:
    """Whether an override was needed; refuse an unqualified role without one."""
    roles = facts.vtype.qualified_roles
    if qualified(staff.role.value, roles):
        return False
    if override is None:
        raise NotQualified(
            N_(
                "{type} kræver {roles}; {name} er {role}. En sygeplejerske eller en visitator "
                "kan tilsidesætte det med en begrundelse.",
                type=facts.vtype.name_da,
                roles=Msg.joined(" / ", [_A_ROLE.get(r, r) for r in roles]),
                name=staff.display_name,
                role=_A_ROLE.get(staff.role.value, staff.role.value),
            ),
            details={"qualified_roles": roles, "role": staff.role.value},
        )
    return True


async def _check_continuity(
    session: AsyncSession, facts: _Facts, staff: Staff, choice: AssignChoice
) -> bool:
    """Whether this is a continuity break; unconfirmed breaks and new faces are refused."""
    citizen, continuity = facts.citizen, facts.continuity
    contact = continuity.is_contact(citizen.id, staff.id)
    in_team = await session.scalar(
        select(TeamMembership.team_id).where(
            TeamMembership.staff_id == staff.id, TeamMembership.team_id == citizen.team_id
        )
    )
    outside = not contact and in_team is None
    if outside and not choice.confirm_outside:
        team = await session.get_one(Team, citizen.team_id)
        raise ContinuityConfirm(
            N_(
                "{name} er ikke i {team} og er ikke kontaktperson for {citizen}. Bekræft for at "
                "tildele alligevel (det tæller som et brud på kontinuiteten).",
                name=staff.display_name,
                team=team.name,
                citizen=citizen.name,
            ),
            details={"team": team.name, "staff": staff.display_name},
        )
    new_face = citizen.few_new_faces and not continuity.familiar(citizen.id, staff.id)
    if new_face and not choice.confirm_new_face:
        raise NewFaceConfirm(
            N_(
                "{citizen} tåler ikke nye ansigter, og {name} har ikke været der for nylig. "
                "Bekræft for at tildele alligevel.",
                citizen=citizen.name,
                name=staff.display_name,
            ),
            details={"staff": staff.display_name, "citizen": citizen.name},
        )
    return outside


async def _automatic(
    session: AsyncSession, facts: _Facts, choice: AssignChoice, override: str | None
) -> tuple[Staff | None, bool]:
    """The best candidate by continuity, or nobody (a qualified visit: only by override)."""
    staff_id = None
    if not choice.unassign:
        staff_id = facts.continuity.choose(
            facts.citizen.id, facts.visit.team_id, facts.vtype.qualified_roles, choice.exclude
        )
    if staff_id is not None:
        return await session.get_one(Staff, staff_id), False
    if not facts.vtype.qualified_roles:
        return None, False
    if override is None:
        raise NoQualifiedStaff(
            N_(
                "Ingen kvalificeret ({roles}) kunne få besøget ({type}). En sygeplejerske eller "
                "en visitator kan lade det stå uden medarbejder med en begrundelse; teamet får "
                "så en opgave i indbakken.",
                roles=Msg.joined(" / ", [_A_ROLE.get(r, r) for r in facts.vtype.qualified_roles]),
                type=facts.vtype.name_da,
            )
        )
    return None, True


async def _apply(
    session: AsyncSession,
    identity: StaffIdentity,
    facts: _Facts,
    decision: _Decision,
    now: dt.datetime,
    zone: ZoneInfo,
) -> Assigned:
    """Write the assignment, audit it, and open or close the visit's unassigned-visit item."""
    staff, is_break, overridden = decision.staff, decision.is_break, decision.overridden
    visit = facts.visit
    before = visit.assigned_staff_id
    visit.assigned_staff_id = staff.id if staff is not None else None
    visit.continuity_break = is_break
    detail: dict[str, object] = {
        "visit": visit.id,
        "from": before,
        "to": visit.assigned_staff_id,
        "continuity_break": is_break,
    }
    subject = ("citizen", visit.citizen_id)
    audit.record(session, "visit.assign", actor=identity, subject=subject, detail=detail)
    if overridden:
        why = detail | {"reason": decision.reason, "visit_type": facts.vtype.code}
        audit.record(session, "visit.assign_override", actor=identity, subject=subject, detail=why)
    changes = await _follow_inbox(session, identity, facts, staff, now, zone)
    return Assigned(visit.id, visit.assigned_staff_id, is_break, overridden, tuple(changes))


async def _follow_inbox(
    session: AsyncSession,
    identity: StaffIdentity,
    facts: _Facts,
    staff: Staff | None,
    now: dt.datetime,
    zone: ZoneInfo,
) -> list[inbox.InboxChange]:
    """Nobody has it: one open item for the team; someone has it: that item is done."""
    visit = facts.visit
    if staff is None:
        new = await inbox.open_unassigned(session, [_unassigned_of(facts, zone)], now)
        return [inbox.change_of(item) for item in new]
    why = f"Tildelt {staff.display_name}."
    closing = inbox.VisitClosing(identity, visit, None, now, why, "task.closed")
    return await inbox.close_for_visit(session, closing, {InboxKind.UNASSIGNED_VISIT})


def _unassigned_of(facts: _Facts, zone: ZoneInfo) -> inbox.Unassigned:
    """The inbox item's facts for a visit left with nobody."""
    visit, citizen = facts.visit, facts.citizen
    name = citizen.preferred_name or citizen.name
    message = inbox.unassigned_message(name, facts.vtype.name_da, visit.planned_at.astimezone(zone))
    return inbox.Unassigned(visit.id, citizen.organisation_id, visit.team_id, citizen.id, message)


async def report_unassigned(
    session: AsyncSession, keys: Collection[tuple[int, str]], now: dt.datetime, zone: ZoneInfo
) -> int:
    """Generation left these new visits (plan id, occurrence key) with nobody: one item each.

    One query for the visits of all the plans concerned, then one bulk write of the items, so
    a large run with many unassigned visits stays a few round trips.
    """
    wanted = set(keys)
    if not wanted:
        return 0
    rows = await session.execute(
        select(Visit, Citizen, VisitType.name_da)
        .join(Citizen, Citizen.id == Visit.citizen_id)
        .join(VisitType, VisitType.id == Visit.visit_type_id)
        .where(
            Visit.plan_id.in_({plan_id for plan_id, _ in wanted}),
            Visit.assigned_staff_id.is_(None),
            Visit.status.not_in(FINAL),
        )
    )
    found = [
        inbox.Unassigned(
            visit.id,
            citizen.organisation_id,
            visit.team_id,
            citizen.id,
            inbox.unassigned_message(
                citizen.preferred_name or citizen.name, type_name, visit.planned_at.astimezone(zone)
            ),
        )
        for visit, citizen, type_name in rows
        if (visit.plan_id, visit.occurrence_key) in wanted
    ]
    return len(await inbox.open_unassigned(session, found, now))
