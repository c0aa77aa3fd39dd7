"""Dialogue support for visitation meetings: the citizen's two questions before the meeting
("Hvad vil du gerne tale om?", "Hvem skal være med?"), the host's note per dignity-wheel
theme during it, and follow-up tasks with an owner and a due date in the team's inbox.

The one writer of ``meeting_dialogue`` rows. The tablet answers by codes; this module turns
them into the words the host reads, so a relative removed later still reads as who she was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit
from ..citizens import agreements
from ..citizens.consents import Unprocessable
from ..errors import Conflict, Forbidden, NotFound
from ..identity import StaffIdentity
from ..models import (
    AgreementSheet,
    Citizen,
    InboxItem,
    MeetingDialogue,
    Relative,
    Staff,
    TeamMembership,
    Visit,
    VisitType,
)
from ..translatable import N_, translated
from ..visits import inbox
from ..visits.status import OPEN
from ..vocabulary import InboxKind, InboxState
from .invites import HOST_ROLES, MEETING_TYPES

ASK_BEFORE = dt.timedelta(hours=24)  # the tablet asks within a day before the meeting
# ... and stops a quarter of an hour before it: the host may ring any moment then, and the
# citizen should meet a calm idle screen, not a half-answered question.
STOP_ASKING = dt.timedelta(minutes=15)
# What the citizen may want to talk about (the tablet shows its own words, da and en).
TOPICS: Mapping[str, str] = MappingProxyType(
    {
        "medicine": N_("Min medicin"),
        "food": N_("Mad og drikke"),
        "bath": N_("Bad og personlig pleje"),
        "outings": N_("At komme ud / aktiviteter"),
        "night": N_("Tryghed om natten"),
        "other": N_("Noget andet"),
    }
)
# Værdighedshjulet: the same six themes and words as the visit guidance (_guidance.html).
THEMES: Mapping[str, str] = MappingProxyType(
    {
        "home": N_("Dit hjem og samarbejdet"),
        "choices": N_("Dine valg i hverdagen"),
        "community": N_("Fællesskab, familie og venner"),
        "safety": N_("At føle sig tryg"),
        "activities": N_("Aktiviteter i hverdagen"),
        "health": N_("Sundhed og måltider"),
    }
)
CONTACT_PERSON = "contact_person"
NOBODY = "nobody"
MAX_NOTE = 2000  # as a sheet's text fields


class NotAMeetingVisit(Unprocessable):
    """Dialogue support is for visitation and start-up meetings."""

    code = "not_a_meeting"
    default_message = N_("Besøget er ikke et møde.")


class QuestionsClosed(Conflict):
    """The meeting has begun (or is over): the questions can no longer be answered."""

    code = "questions_closed"
    default_message = N_("Mødet er begyndt, så spørgsmålene kan ikke længere besvares.")


class BadAnswer(Unprocessable):
    """An answer names a choice that is not offered."""

    code = "invalid_answer"
    default_message = N_("Svaret passer ikke til valgmulighederne.")


class NotMeetingHost(Forbidden):
    """Only a nurse or a visitator writes a meeting's notes and tasks."""

    code = "not_host"
    default_message = N_("Kun en sygeplejerske eller en visitator kan skrive mødets noter.")


class BadOwner(Unprocessable):
    """A task's owner must be an active staff member of the citizen's team."""

    code = "invalid_owner"
    default_message = N_("Ansvarlig skal være en medarbejder i borgerens team.")


class BadDueDate(Unprocessable):
    """A task's due date is in the past or years ahead."""

    code = "invalid_due_date"
    default_message = N_("Fristen skal være i dag eller senere (højst et år frem).")


class NoSheet(Conflict):
    """Notes are copied into the meeting's agreement sheet, which must exist first."""

    code = "no_agreement_sheet"
    default_message = N_("Skriv mødets aftaleark først; så kan noterne kopieres ind.")


@dataclass(frozen=True, slots=True)
class Choice:
    """One choice as a code and the words shown for it."""

    code: str
    label: str


@dataclass(frozen=True, slots=True)
class Questions:
    """What the tablet asks now: for which meeting, and whom the citizen may choose."""

    visit_id: int
    planned_at: dt.datetime
    people: tuple[Choice, ...]


@dataclass(frozen=True, slots=True)
class Answers:
    """The citizen's answers as the host reads them (``topics``/``people`` as choices)."""

    visit_id: int
    answered_at: dt.datetime | None
    skipped: bool
    topics: tuple[Choice, ...]
    people: tuple[Choice, ...]
    theme_notes: Mapping[str, str]
    notes_updated_at: dt.datetime | None


def _first_name(name: str) -> str:
    return name.split()[0] if name.split() else name


def relative_choice(relative: Relative) -> Choice:
    """A relative as the citizen picks her: first name and relation ("Lise (datter)")."""
    return Choice(f"relative:{relative.id}", f"{_first_name(relative.name)} ({relative.relation})")


async def _relatives(session: AsyncSession, citizen_id: int) -> list[Relative]:
    rows = await session.scalars(
        select(Relative)
        .where(Relative.citizen_id == citizen_id, Relative.removed_at.is_(None))
        .order_by(Relative.id)
    )
    return list(rows)


async def _is_meeting(session: AsyncSession, visit: Visit) -> bool:
    code = await session.scalar(select(VisitType.code).where(VisitType.id == visit.visit_type_id))
    return code in MEETING_TYPES


async def _row(session: AsyncSession, visit_id: int) -> MeetingDialogue | None:
    row: MeetingDialogue | None = await session.scalar(
        select(MeetingDialogue).where(MeetingDialogue.visit_id == visit_id)
    )
    return row


async def due_questions(
    session: AsyncSession, citizen_id: int, now: dt.datetime
) -> Questions | None:
    """The coming meeting (in ``STOP_ASKING`` … ``ASK_BEFORE``) not yet answered or skipped."""
    visit = await session.scalar(
        select(Visit)
        .join(VisitType, VisitType.id == Visit.visit_type_id)
        .outerjoin(MeetingDialogue, MeetingDialogue.visit_id == Visit.id)
        .where(
            Visit.citizen_id == citizen_id,
            VisitType.code.in_(MEETING_TYPES),
            Visit.status.in_(OPEN),
            Visit.planned_at > now + STOP_ASKING,
            Visit.planned_at <= now + ASK_BEFORE,
            MeetingDialogue.answered_at.is_(None),
            MeetingDialogue.skipped_at.is_(None),
        )
        .order_by(Visit.planned_at)
        .limit(1)
    )
    if visit is None:
        return None
    people = tuple(relative_choice(r) for r in await _relatives(session, citizen_id))
    return Questions(visit.id, visit.planned_at, people)


@dataclass(frozen=True, slots=True)
class Reply:
    """What the tablet sent: topic codes, people codes, or that the citizen skipped."""

    visit_id: int
    topics: tuple[str, ...]
    people: tuple[str, ...]
    skipped: bool


async def _check_people(session: AsyncSession, citizen_id: int, people: Sequence[str]) -> None:
    allowed = {c.code for c in map(relative_choice, await _relatives(session, citizen_id))}
    allowed |= {CONTACT_PERSON, NOBODY}
    if not set(people) <= allowed or (NOBODY in people and len(people) > 1):
        raise BadAnswer()


async def answer(
    session: AsyncSession, citizen_id: int, reply: Reply, now: dt.datetime
) -> MeetingDialogue:
    """Store the tablet's answers (or the skip) for one of its citizen's coming meetings."""
    visit = await session.get(Visit, reply.visit_id)
    if visit is None or visit.citizen_id != citizen_id:
        raise NotFound(N_("Besøget findes ikke."))
    if not await _is_meeting(session, visit):
        raise NotAMeetingVisit()
    if visit.status not in OPEN or visit.planned_at <= now:
        raise QuestionsClosed()
    if not set(reply.topics) <= set(TOPICS):
        raise BadAnswer()
    await _check_people(session, citizen_id, reply.people)
    row = await _row(session, visit.id)
    if row is None:
        row = MeetingDialogue(visit_id=visit.id, citizen_id=citizen_id, theme_notes={})
        session.add(row)
    if reply.skipped:
        row.skipped_at, row.answered_at, row.topics, row.people = now, None, [], []
    else:
        row.answered_at, row.skipped_at = now, None
        row.topics, row.people = _unique(reply.topics), _unique(reply.people)
    await session.flush()
    return row


def _unique(codes: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(codes))


async def read(session: AsyncSession, visit: Visit) -> Answers:
    """The meeting's answers and notes as the host reads them (empty before any)."""
    row = await _row(session, visit.id)
    if row is None:
        return Answers(visit.id, None, False, (), (), MappingProxyType({}), None)
    topics = tuple(Choice(c, TOPICS[c]) for c in row.topics if c in TOPICS)
    people = await _people_choices(session, row.people)
    notes = MappingProxyType({k: v for k, v in (row.theme_notes or {}).items() if k in THEMES})
    skipped = row.skipped_at is not None
    return Answers(visit.id, row.answered_at, skipped, topics, people, notes, row.notes_updated_at)


async def _people_choices(session: AsyncSession, codes: Sequence[str]) -> tuple[Choice, ...]:
    fixed = {CONTACT_PERSON: N_("Kontaktpersonen"), NOBODY: N_("Ingen andre")}
    found = []
    for code in codes:
        if code in fixed:
            found.append(Choice(code, fixed[code]))
        elif code.startswith("relative:"):
            relative = await session.get(Relative, int(code.split(":", 1)[1]))
            if relative is not None:
                found.append(relative_choice(relative))
    return tuple(found)


async def latest_answers(
    session: AsyncSession, citizen_id: int, now: dt.datetime
) -> Answers | None:
    """The answers for the citizen's next (or today's) meeting, for the citizen page."""
    since = now - dt.timedelta(hours=12)
    visit = await session.scalar(
        select(Visit)
        .join(MeetingDialogue, MeetingDialogue.visit_id == Visit.id)
        .where(
            Visit.citizen_id == citizen_id,
            Visit.planned_at >= since,
            MeetingDialogue.answered_at.is_not(None),
        )
        .order_by(Visit.planned_at)
        .limit(1)
    )
    return await read(session, visit) if visit is not None else None


def require_host(identity: StaffIdentity) -> None:
    """Only a nurse or a visitator writes a meeting's notes and follow-up tasks."""
    if identity.role not in HOST_ROLES:
        raise NotMeetingHost()


async def save_notes(
    session: AsyncSession,
    identity: StaffIdentity,
    visit: Visit,
    notes: Mapping[str, str],
    now: dt.datetime,
) -> MeetingDialogue:
    """Replace the notes of the themes given (blank removes a note); audited."""
    require_host(identity)
    if not await _is_meeting(session, visit):
        raise NotAMeetingVisit()
    row = await _row(session, visit.id)
    if row is None:
        row = MeetingDialogue(visit_id=visit.id, citizen_id=visit.citizen_id, topics=[], people=[])
        session.add(row)
    merged = dict(row.theme_notes or {})
    for theme, text in notes.items():
        if text.strip():
            merged[theme] = text.strip()[:MAX_NOTE]
        else:
            merged.pop(theme, None)
    row.theme_notes = merged  # a new dict: JSON columns track assignment, not mutation
    row.notes_updated_at, row.notes_updated_by_staff_id = now, identity.staff_id
    audit.record(
        session,
        "meeting.notes",
        actor=identity,
        subject=("visit", visit.id),
        detail={"themes": sorted(notes)},
    )
    await session.flush()
    return row


def notes_text(notes: Mapping[str, str], label: Mapping[str, str]) -> str:
    """The notes as lines "Theme: note", in the wheel's order (``label``: translated names)."""
    return "\n".join(f"{label[t]}: {notes[t]}" for t in THEMES if notes.get(t))


async def copy_to_sheet(
    session: AsyncSession, identity: StaffIdentity, citizen: Citizen, visit: Visit, text: str
) -> AgreementSheet:
    """Add the notes to the topics of the meeting's sheet, as a new version of it."""
    sheet = await session.scalar(
        select(AgreementSheet)
        .where(AgreementSheet.visit_id == visit.id)
        .order_by(AgreementSheet.id.desc())
        .limit(1)
    )
    if sheet is None:
        raise NoSheet()
    topics = "\n".join(part for part in (sheet.topics, text) if part)[:MAX_NOTE]
    data = agreements.SheetInput(
        meeting_date=sheet.meeting_date,
        participants=tuple(sheet.participants),
        topics=topics or None,
        citizen_says=sheet.citizen_says,
        relatives_say=sheet.relatives_say,
        citizen_does=sheet.citizen_does,
        municipality_does=sheet.municipality_does,
        contact_phone=sheet.contact_phone,
        visit_id=sheet.visit_id,
        follow_up_date=sheet.follow_up_date,
    )
    if not agreements.may_write(identity, citizen):
        raise agreements.MayNotWrite()
    return await agreements.update(session, identity, citizen, sheet, data)


@dataclass(frozen=True, slots=True)
class TaskRequest:
    """A follow-up task agreed at the meeting."""

    text: str
    owner_staff_id: int
    due: dt.date


async def team_staff(session: AsyncSession, team_id: int) -> list[Staff]:
    """Active staff of a team, by name: whom a task may be given to."""
    rows = await session.scalars(
        select(Staff)
        .join(TeamMembership, TeamMembership.staff_id == Staff.id)
        .where(TeamMembership.team_id == team_id, Staff.active.is_(True))
        .order_by(Staff.display_name, Staff.id)
    )
    return list(rows)


def due_at(due: dt.date, zone: ZoneInfo) -> dt.datetime:
    """A due date means by the end of that day in the organisation's zone."""
    end = dt.datetime.combine(due + dt.timedelta(days=1), dt.time(), zone)
    return end.astimezone(dt.UTC)


async def add_task(
    session: AsyncSession,
    identity: StaffIdentity,
    visit: Visit,
    task: TaskRequest,
    today: tuple[dt.date, ZoneInfo, dt.datetime],
) -> InboxItem:
    """An inbox item for the citizen's team, held by its owner, due at the end of the day.

    It is created taken by the owner: the team sees whose it is, and the overdue escalation
    (``scheduling/overdue.py``) applies to it like to any active item with a due time.
    """
    require_host(identity)
    local_today, zone, now = today
    if not await _is_meeting(session, visit):
        raise NotAMeetingVisit()
    if not local_today <= task.due <= local_today + dt.timedelta(days=366):
        raise BadDueDate()
    citizen = await session.get_one(Citizen, visit.citizen_id)
    if task.owner_staff_id not in {s.id for s in await team_staff(session, citizen.team_id)}:
        raise BadOwner()
    due = due_at(task.due, zone)
    new = inbox.NewItem(citizen, InboxKind.FOLLOW_UP_TASK, task.text, None, due, identity.staff_id)
    item = await inbox.add(session, new, now)
    item.visit_id = visit.id
    item.state, item.taken_at, item.taken_by_staff_id = InboxState.TAKEN, now, task.owner_staff_id
    audit.record(
        session,
        "meeting.task",
        actor=identity,
        subject=("inbox_item", item.id),
        detail={"visit": visit.id, "owner": task.owner_staff_id, "due": task.due.isoformat()},
    )
    await session.flush()
    return item


async def tasks_of(session: AsyncSession, visit_id: int) -> list[InboxItem]:
    """The meeting's follow-up tasks, oldest first."""
    rows = await session.scalars(
        select(InboxItem)
        .where(InboxItem.visit_id == visit_id, InboxItem.kind == InboxKind.FOLLOW_UP_TASK)
        .order_by(InboxItem.id)
    )
    return list(rows)


def summary_of(name: str, answers: Answers, say: Callable[[str], str]) -> str | None:
    """ "Karen vil gerne tale om: Min medicin, Tryghed om natten", or None without topics."""
    if not answers.topics:
        return None
    topics = ", ".join(translated(c.label, say) for c in answers.topics)
    return N_("{name} vil gerne tale om: {topics}", name=name, topics=topics).in_language(say)
