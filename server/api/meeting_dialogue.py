"""Dialogue support for meetings over JSON: the tablet's answers before a meeting, and the
host's answers view, notes per dignity-wheel theme, copy into the sheet and follow-up tasks.

Codes: `not_a_meeting`, `questions_closed`, `invalid_answer`, `not_host`, `invalid_owner`,
`invalid_due_date`, `no_agreement_sheet`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Literal

from aiohttp import web
from pydantic import Field, StringConstraints

from ..auth.authz import require_visit
from ..auth.devices import require_device
from ..i18n import reader_gettext
from ..keys import sessionmaker_key, settings_key, team_feed_key
from ..localtime import local_day
from ..meetings import dialogue
from ..models import InboxItem, Staff, utcnow
from ..translatable import translated
from ..visits import inbox
from .models import WireModel
from .spec import ApiRoutes

api = ApiRoutes(tag="meetings")

Topic = Literal["medicine", "food", "bath", "outings", "night", "other"]
Theme = Literal["home", "choices", "community", "safety", "activities", "health"]
Person = Annotated[str, StringConstraints(pattern=r"^(relative:[0-9]{1,9}|contact_person|nobody)$")]
Note = Annotated[str, StringConstraints(max_length=dialogue.MAX_NOTE)]
TaskText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class MeetingAnswersIn(WireModel):
    """The citizen's answers on the tablet, or that she pressed "Ikke nu"."""

    visit_id: int
    topics: Annotated[list[Topic], Field(max_length=6)] = []
    people: Annotated[list[Person], Field(max_length=20)] = []
    skipped: bool = False


class MeetingAnswersOut(WireModel):
    """Stored."""

    visit_id: int
    answered: bool
    skipped: bool


class ChoiceOut(WireModel):
    """One choice: its code and its words."""

    code: str
    label: str


class ThemeOut(WireModel):
    """A dignity-wheel theme and the host's note on it."""

    code: str
    label: str
    note: str


class TaskOut(WireModel):
    """A follow-up task (an item in the team's inbox)."""

    item_id: int
    text: str
    owner_staff_id: int | None
    owner_name: str | None
    due_at: dt.datetime | None
    state: str


class DialogueOut(WireModel):
    """What the host sees: the citizen's answers, the notes per theme, the tasks, the owners."""

    visit_id: int
    answered_at: dt.datetime | None
    skipped: bool
    summary: str | None = Field(description='"Karen vil gerne tale om: …", or null.')
    topics: list[ChoiceOut]
    people: list[ChoiceOut]
    themes: list[ThemeOut]
    notes_updated_at: dt.datetime | None
    tasks: list[TaskOut]
    owners: list[ChoiceOut] = Field(description="Staff of the citizen's team (code: staff id).")


class NotesIn(WireModel):
    """Notes per theme to replace; a blank note removes it; themes not named stay."""

    notes: Annotated[dict[Theme, Note], Field(max_length=6)]


class CopyOut(WireModel):
    """The sheet's new version after the notes were added to its topics."""

    sheet_id: int
    version: int


class TaskIn(WireModel):
    """A follow-up task: what, who (a staff member of the citizen's team) and by when."""

    text: TaskText
    owner_staff_id: int
    due_date: dt.date


@api.post(
    "/api/kiosk/meeting-answers",
    body=MeetingAnswersIn,
    response=MeetingAnswersOut,
    summary="The citizen's answers before a meeting (the tablet's own)",
    public=True,
)
async def meeting_answers(request: web.Request, body: MeetingAnswersIn) -> MeetingAnswersOut:
    """Store the answers for one of the tablet's citizen's coming meetings."""
    reply = dialogue.Reply(body.visit_id, tuple(body.topics), tuple(body.people), body.skipped)
    async with request.app[sessionmaker_key].begin() as session:
        owner = await require_device(request, session)
        row = await dialogue.answer(session, owner.citizen_id, reply, utcnow())
        answered = row.answered_at is not None
        return MeetingAnswersOut(visit_id=row.visit_id, answered=answered, skipped=not answered)


def _choices(choices: tuple[dialogue.Choice, ...], say: Callable[[str], str]) -> list[ChoiceOut]:
    return [ChoiceOut(code=c.code, label=translated(c.label, say)) for c in choices]


def _task(item: InboxItem, names: dict[int, str]) -> TaskOut:
    owner = item.taken_by_staff_id
    return TaskOut(
        item_id=item.id,
        text=item.message,
        owner_staff_id=owner,
        owner_name=names.get(owner) if owner is not None else None,
        due_at=item.due_at,
        state=item.state.value,
    )


def _themes(answers: dialogue.Answers, say: Callable[[str], str]) -> list[ThemeOut]:
    notes = answers.theme_notes
    return [
        ThemeOut(code=code, label=translated(label, say), note=notes.get(code, ""))
        for code, label in dialogue.THEMES.items()
    ]


@api.get(
    r"/api/visits/{visit_id:\d+}/dialogue",
    response=DialogueOut,
    summary="A meeting's answers from the tablet, notes per theme and follow-up tasks",
)
async def get_dialogue(request: web.Request) -> DialogueOut:
    """Everything the host's meeting panel shows; any staff who may see the citizen."""
    visit_id = int(request.match_info["visit_id"])
    say = reader_gettext(request)
    async with request.app[sessionmaker_key].begin() as session:
        _, citizen, visit = await require_visit(request, session, visit_id)
        answers = await dialogue.read(session, visit)
        staff = await dialogue.team_staff(session, citizen.team_id)
        tasks = await dialogue.tasks_of(session, visit.id)
        names = {s.id: s.display_name for s in staff}
        for item in tasks:  # an owner who left the team still has a name
            held = item.taken_by_staff_id
            if held is not None and held not in names:
                names[held] = (await session.get_one(Staff, held)).display_name
        name = citizen.preferred_name or citizen.name
        return DialogueOut(
            visit_id=visit.id,
            answered_at=answers.answered_at,
            skipped=answers.skipped,
            summary=dialogue.summary_of(name, answers, say),
            topics=_choices(answers.topics, say),
            people=_choices(answers.people, say),
            themes=_themes(answers, say),
            notes_updated_at=answers.notes_updated_at,
            tasks=[_task(item, names) for item in tasks],
            owners=[ChoiceOut(code=str(s.id), label=s.display_name) for s in staff],
        )


@api.post(
    r"/api/visits/{visit_id:\d+}/dialogue/notes",
    body=NotesIn,
    response=MeetingAnswersOut,
    summary="Save the host's notes per dignity-wheel theme",
)
async def save_notes(request: web.Request, body: NotesIn) -> MeetingAnswersOut:
    """Replace the notes of the themes named (the host: a nurse or a visitator)."""
    visit_id = int(request.match_info["visit_id"])
    async with request.app[sessionmaker_key].begin() as session:
        identity, _, visit = await require_visit(request, session, visit_id)
        row = await dialogue.save_notes(
            session, identity, visit, {str(k): v for k, v in body.notes.items()}, utcnow()
        )
        answered = row.answered_at is not None
        return MeetingAnswersOut(
            visit_id=visit.id, answered=answered, skipped=row.skipped_at is not None
        )


class CopyIn(WireModel):
    """No fields: the stored notes are copied."""


@api.post(
    r"/api/visits/{visit_id:\d+}/dialogue/copy-to-agreement",
    body=CopyIn,
    response=CopyOut,
    summary="Add the theme notes to the topics of the meeting's agreement sheet (a new version)",
)
async def copy_to_agreement(request: web.Request, body: CopyIn) -> CopyOut:
    """The notes, as "Theme: note" lines, join the sheet's topics in a new version."""
    visit_id = int(request.match_info["visit_id"])
    say = reader_gettext(request)
    async with request.app[sessionmaker_key].begin() as session:
        identity, citizen, visit = await require_visit(request, session, visit_id)
        dialogue.require_host(identity)
        answers = await dialogue.read(session, visit)
        labels = {code: translated(label, say) for code, label in dialogue.THEMES.items()}
        text = dialogue.notes_text(answers.theme_notes, labels)
        sheet = await dialogue.copy_to_sheet(session, identity, citizen, visit, text)
        return CopyOut(sheet_id=sheet.id, version=sheet.version)


@api.post(
    r"/api/visits/{visit_id:\d+}/follow-up-tasks",
    body=TaskIn,
    response=TaskOut,
    status=201,
    summary="A follow-up task with an owner and a due date, in the team's inbox",
)
async def add_follow_up(request: web.Request, body: TaskIn) -> TaskOut:
    """Put the task in the citizen's team's inbox, held by its owner; tell the team's consoles."""
    visit_id = int(request.match_info["visit_id"])
    zone = request.app[settings_key].zone
    now = utcnow()
    task = dialogue.TaskRequest(body.text, body.owner_staff_id, body.due_date)
    async with request.app[sessionmaker_key].begin() as session:
        identity, _, visit = await require_visit(request, session, visit_id)
        today = (local_day(now, zone), zone, now)
        item = await dialogue.add_task(session, identity, visit, task, today)
        owner = await session.get_one(Staff, body.owner_staff_id)
        out = _task(item, {owner.id: owner.display_name})
        change = inbox.change_of(item)
    await request.app[team_feed_key].inbox_changed(change)
    return out
