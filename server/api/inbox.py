"""The team inbox over JSON: list, count, take, release, finish, dismiss, history."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from aiohttp import web
from pydantic import ConfigDict, StringConstraints

from .. import audit
from ..auth.authz import require_staff
from ..keys import sessionmaker_key, team_feed_key
from ..models import utcnow
from ..query import query_flag
from ..visits import inbox, inbox_list
from ..vocabulary import InboxKind, InboxState
from .models import WireModel
from .spec import ApiRoutes

api = ApiRoutes(tag="inbox")
ITEM = r"/api/inbox/{item_id:\d+}"
Note = Annotated[str, StringConstraints(max_length=2000)]


class InboxItemOut(WireModel):
    """An item of a team's inbox; ``overdue`` when its due time passed while it is active."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    id: int
    kind: InboxKind
    state: InboxState
    team_id: int
    team_name: str
    citizen_id: int | None
    citizen_name: str | None
    visit_id: int | None
    message: str
    due_at: dt.datetime | None
    created_at: dt.datetime
    taken_by_staff_id: int | None
    taken_by_name: str | None
    taken_at: dt.datetime | None
    closed_by_name: str | None
    closed_at: dt.datetime | None
    note: str | None
    escalated_at: dt.datetime | None
    escalated_to: str | None
    overdue: bool


class InboxList(WireModel):
    """The items the caller may see, active ones first."""

    items: list[InboxItemOut]


class InboxSummaryOut(WireModel):
    """The header's counts."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    active: int
    mine: int
    overdue: int


class NoteIn(WireModel):
    """What was done (optional), or why the item is dismissed (required to dismiss)."""

    note: Note | None = None


class Empty(WireModel):
    """No fields."""


class HistoryLineOut(WireModel):
    """One audited change of an item."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    at: dt.datetime
    actor: str
    action: str
    note: str | None


class ItemHistory(WireModel):
    """The item and every change to it, oldest first."""

    item: InboxItemOut
    history: list[HistoryLineOut]


@api.get("/api/inbox", response=InboxList, summary="My teams' inbox (?all=1 adds closed items)")
async def list_inbox(request: web.Request) -> InboxList:
    """Active items first: overdue, then by due time, then the newest."""
    identity = require_staff(request)
    active_only = not query_flag(request, "all")
    async with request.app[sessionmaker_key]() as session:
        found = await inbox_list.entries(session, identity, utcnow(), active_only=active_only)
    return InboxList(items=[InboxItemOut.model_validate(e) for e in found])


@api.get("/api/inbox/summary", response=InboxSummaryOut, summary="Counts for the inbox badge")
async def inbox_summary(request: web.Request) -> InboxSummaryOut:
    """Active items, those I have taken, and those overdue."""
    identity = require_staff(request)
    async with request.app[sessionmaker_key]() as session:
        counts = await inbox_list.summary(session, identity, utcnow())
    return InboxSummaryOut.model_validate(counts)


@api.get(ITEM, response=ItemHistory, summary="One inbox item and its history")
async def item_history(request: web.Request) -> ItemHistory:
    """The item as listed, and who took, released, closed or escalated it, when."""
    identity = require_staff(request)
    item_id = int(request.match_info["item_id"])
    async with request.app[sessionmaker_key].begin() as session:
        entry = await inbox_list.entry_for(session, identity, item_id, utcnow())
        item = await inbox_list.item_for(session, identity, item_id)
        lines = await inbox_list.history(session, item)
        if item.citizen_id is not None:
            subject = ("citizen", item.citizen_id)
            audit.record(session, "citizen.read", actor=identity, subject=subject, request=request)
    return ItemHistory(
        item=InboxItemOut.model_validate(entry),
        history=[HistoryLineOut.model_validate(line) for line in lines],
    )


async def _act(request: web.Request, action: str, note: str | None = None) -> InboxItemOut:
    """Change an item the caller may see, then tell the team's consoles."""
    identity = require_staff(request)
    item_id = int(request.match_info["item_id"])
    now = utcnow()
    async with request.app[sessionmaker_key].begin() as session:
        item = await inbox_list.item_for(session, identity, item_id, for_update=True)
        change = await inbox.act(session, identity, item, action, now, note)
        entry = await inbox_list.entry_for(session, identity, item_id, now)
    await request.app[team_feed_key].inbox_changed(change)
    return InboxItemOut.model_validate(entry)


@api.post(f"{ITEM}/take", body=Empty, response=InboxItemOut, summary="Take an item")
async def take_item(request: web.Request, body: Empty) -> InboxItemOut:
    """The item is mine now; the team sees who has it."""
    return await _act(request, "take")


@api.post(f"{ITEM}/release", body=Empty, response=InboxItemOut, summary="Give an item back")
async def release_item(request: web.Request, body: Empty) -> InboxItemOut:
    """The item is open for the team again."""
    return await _act(request, "release")


@api.post(f"{ITEM}/done", body=NoteIn, response=InboxItemOut, summary="Mark an item done")
async def finish_item(request: web.Request, body: NoteIn) -> InboxItemOut:
    """Done, with an optional note of what was done; anyone of the team may close it."""
    return await _act(request, "done", body.note)


@api.post(f"{ITEM}/dismiss", body=NoteIn, response=InboxItemOut, summary="Dismiss an item")
async def dismiss_item(request: web.Request, body: NoteIn) -> InboxItemOut:
    """Closed without action; the reason is required and kept."""
    return await _act(request, "dismiss", body.note)
