"""Citizen notices in the database: facts about visits, creating notices idempotently, what the
tablet shows now, marking one shown, and the nurse's "forsinket" notice.

Functions take the caller's session and never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import Citizen, KioskDevice, Staff, Visit, VisitType
from ..models.notices import CitizenNotice, NoticeChannel, NoticeKind, SmsRecipient
from ..vocabulary import Channel, Role, VisitStatus
from . import texts
from .rules import REMINDER_KINDS, visible

SHOWN_AT_MOST = 2


@dataclass(frozen=True, slots=True)
class VisitRow:
    """A visit with what its notices say about it."""

    visit_id: int
    citizen_id: int
    organisation_id: int
    few_new_faces: bool
    status: VisitStatus
    window_min: int
    attempts: int
    staff_id: int | None
    facts: texts.VisitFacts

    @property
    def window_end(self) -> dt.datetime:
        """When the visit's window closes."""
        return self.facts.planned_at + dt.timedelta(minutes=self.window_min)


def visit_rows() -> Select[*tuple[Any, ...]]:
    """The columns `VisitRow` is built from (callers add their conditions)."""
    query: Select[*tuple[Any, ...]] = (
        select(
            Visit.id,
            Visit.citizen_id,
            Citizen.organisation_id,
            Citizen.few_new_faces,
            Visit.status,
            Visit.window_min,
            Visit.attempts,
            Visit.assigned_staff_id,
            Visit.planned_at,
            Visit.channel,
            VisitType.name_da,
            VisitType.name_en,
            Staff.display_name,
            Staff.role,
        )
        .join(Citizen, Citizen.id == Visit.citizen_id)
        .join(VisitType, VisitType.id == Visit.visit_type_id)
        .outerjoin(Staff, Staff.id == Visit.assigned_staff_id)
    )
    return query


def visit_row(row: Sequence[Any]) -> VisitRow:
    """A `VisitRow` from one result row of `visit_rows()`."""
    (vid, cid, org, few, status, window, attempts, staff_id, at, channel, da, en, name, role) = row
    facts = texts.VisitFacts(at, Channel(channel), da, en, name, Role(role) if role else None)
    return VisitRow(vid, cid, org, few, VisitStatus(status), window, attempts, staff_id, facts)


async def load_visit(session: AsyncSession, visit_id: int) -> VisitRow | None:
    """One visit's row, or None."""
    row = (await session.execute(visit_rows().where(Visit.id == visit_id))).first()
    return visit_row(row) if row else None


async def channels(
    session: AsyncSession, citizen_ids: Collection[int], *, sms: bool
) -> dict[int, NoticeChannel]:
    """Where each citizen's notices go: an active tablet, else an SMS number (when SMS is on).

    Citizens with neither are left out: nobody is told.
    """
    if not citizen_ids:
        return {}
    ids = set(citizen_ids)
    tablets = set(
        await session.scalars(
            select(KioskDevice.citizen_id).where(
                KioskDevice.citizen_id.in_(ids),
                KioskDevice.enrolled_at.is_not(None),
                KioskDevice.revoked_at.is_(None),
            )
        )
    )
    phones: set[int] = set()
    if sms:
        query = select(SmsRecipient.citizen_id).where(SmsRecipient.citizen_id.in_(ids))
        phones = set(await session.scalars(query))
    return {
        c: NoticeChannel.TABLET if c in tablets else NoticeChannel.SMS
        for c in ids
        if c in tablets or c in phones
    }


@dataclass(frozen=True, slots=True)
class NewNotice:
    """A notice to create."""

    visit: VisitRow
    kind: NoticeKind
    key: str
    words: texts.Words
    show_from: dt.datetime
    show_until: dt.datetime
    created_by_staff_id: int | None = None


def _values(new: NewNotice, channel: NoticeChannel, now: dt.datetime) -> dict[str, Any]:
    return {
        "citizen_id": new.visit.citizen_id,
        "visit_id": new.visit.visit_id,
        "kind": new.kind.value,
        "channel": channel.value,
        "key": new.key[:64],
        "text_da": new.words.da,
        "text_en": new.words.en,
        "staff_id": new.visit.staff_id,
        "created_by_staff_id": new.created_by_staff_id,
        "created_at": now,
        "show_from": new.show_from,
        "show_until": new.show_until,
    }


CREATE_BATCH = 500  # rows per INSERT: 12 parameters each stays far below the drivers' limits


async def create_many(
    session: AsyncSession,
    notices: Sequence[tuple[NewNotice, NoticeChannel]],
    now: dt.datetime,
) -> list[int]:
    """Insert the notices whose key is new for their visit and channel; the new ids."""
    dialect = session.bind.dialect.name if session.bind is not None else ""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    created: list[int] = []
    for start in range(0, len(notices), CREATE_BATCH):
        chunk = notices[start : start + CREATE_BATCH]
        batch = [_values(new, channel, now) for new, channel in chunk]
        statement = (
            insert(CitizenNotice)
            .values(batch)
            .on_conflict_do_nothing(index_elements=["visit_id", "channel", "key"])
            .returning(CitizenNotice.id)
        )
        created += (await session.scalars(statement)).all()
    return created


async def create(
    session: AsyncSession, new: NewNotice, channel: NoticeChannel, now: dt.datetime
) -> int | None:
    """Insert the notice unless one with its key exists for the visit; the new id or None."""
    created = await create_many(session, [(new, channel)], now)
    return created[0] if created else None


@dataclass(frozen=True, slots=True)
class TabletNotice:
    """A notice as the idle screen shows it."""

    notice_id: int
    visit_id: int
    kind: NoticeKind
    text_da: str
    text_en: str
    staff_name: str | None
    staff_photo_url: str | None
    created_at: dt.datetime
    shown_at: dt.datetime | None


async def for_tablet(
    session: AsyncSession, citizen_id: int, now: dt.datetime
) -> list[TabletNotice]:
    """The notices the tablet shows now: the newest per visit that still means something, at
    most two. A change (late, moved, another person, cancelled) comes first, newest first; then
    reminders, the soonest visit first: at night the evening reminders of the whole day are in
    force, and the citizen must see the one for the next visit, not the last one made."""
    rows = await session.execute(
        select(CitizenNotice, Visit.status, Visit.planned_at, Staff.display_name, Staff.photo_url)
        .join(Visit, Visit.id == CitizenNotice.visit_id)
        .outerjoin(Staff, Staff.id == CitizenNotice.staff_id)
        .where(
            CitizenNotice.citizen_id == citizen_id,
            CitizenNotice.channel == NoticeChannel.TABLET,
            CitizenNotice.show_from <= now,
            CitizenNotice.show_until > now,
        )
        .order_by(CitizenNotice.created_at.desc(), CitizenNotice.id.desc())
        .limit(50)
    )
    found: list[tuple[tuple[int, float], TabletNotice]] = []
    seen: set[int] = set()
    for notice, status, planned_at, name, photo in rows:
        if notice.visit_id in seen:
            continue
        seen.add(notice.visit_id)
        if visible(notice.kind, status):
            found.append((_precedence(notice, planned_at), _tablet_notice(notice, name, photo)))
    found.sort(key=lambda pair: pair[0])
    return [notice for _, notice in found[:SHOWN_AT_MOST]]


def _precedence(notice: CitizenNotice, planned_at: dt.datetime) -> tuple[int, float]:
    """Changes before reminders; changes newest first, reminders soonest visit first."""
    if notice.kind in REMINDER_KINDS:
        return (1, planned_at.timestamp())
    return (0, -notice.created_at.timestamp())


def _tablet_notice(notice: CitizenNotice, name: str | None, photo: str | None) -> TabletNotice:
    return TabletNotice(
        notice.id,
        notice.visit_id,
        notice.kind,
        notice.text_da,
        notice.text_en,
        texts.first_name(name),
        photo,
        notice.created_at,
        notice.shown_at,
    )


async def mark_shown(
    session: AsyncSession, citizen_id: int, notice_id: int, now: dt.datetime
) -> tuple[CitizenNotice, bool] | None:
    """Record when the tablet first showed the notice, and whether this was the first time;
    None when it is not this citizen's tablet notice."""
    notice = await session.get(CitizenNotice, notice_id, with_for_update=True)
    if notice is None or notice.citizen_id != citizen_id:
        return None
    if notice.channel is not NoticeChannel.TABLET:
        return None
    first = notice.shown_at is None
    if first:
        notice.shown_at = now
    return notice, first


def delay_notice(
    visit: VisitRow, minutes: int, now: dt.datetime, zone: ZoneInfo, staff_id: int
) -> NewNotice:
    """The nurse's "forsinket ca. N min": the visit comes N minutes after its time (or now)."""
    expected = max(visit.facts.planned_at, now) + dt.timedelta(minutes=minutes)
    expected = expected.replace(second=0, microsecond=0)
    return NewNotice(
        visit=visit,
        kind=NoticeKind.LATE,
        key=f"delay:{now.astimezone(dt.UTC):%Y%m%dT%H%M}:{minutes}",
        words=texts.late_by_staff(visit.facts, minutes, expected, zone),
        show_from=now,
        show_until=max(visit.window_end, expected + dt.timedelta(minutes=visit.window_min)),
        created_by_staff_id=staff_id,
    )


@dataclass(frozen=True, slots=True)
class DelayState:
    """The latest "forsinket" notice of a visit: when the citizen was told (None: not yet)."""

    visit_id: int
    notice_id: int
    channel: NoticeChannel
    created_at: dt.datetime
    told_at: dt.datetime | None


async def delay_states(session: AsyncSession, visit_ids: Collection[int]) -> dict[int, DelayState]:
    """Each visit's latest late notice, by visit id."""
    if not visit_ids:
        return {}
    rows = await session.scalars(
        select(CitizenNotice)
        .where(CitizenNotice.visit_id.in_(set(visit_ids)), CitizenNotice.kind == NoticeKind.LATE)
        .order_by(CitizenNotice.created_at, CitizenNotice.id)
    )
    return {
        n.visit_id: DelayState(n.visit_id, n.id, n.channel, n.created_at, n.shown_at or n.sent_at)
        for n in rows
    }


async def set_sms_number(session: AsyncSession, citizen_id: int, phone: str | None) -> None:
    """Give the citizen an SMS number for notices (None: no SMS any more)."""
    row = await session.get(SmsRecipient, citizen_id, with_for_update=True)
    if phone is None:
        if row is not None:
            await session.delete(row)
        return
    if row is None:
        session.add(SmsRecipient(citizen_id=citizen_id, phone=phone))
    else:
        row.phone = phone


async def log_of(session: AsyncSession, citizen_id: int, limit: int = 100) -> list[CitizenNotice]:
    """The citizen's notices, newest first: what was said, and when it was shown or sent."""
    rows = await session.scalars(
        select(CitizenNotice)
        .where(CitizenNotice.citizen_id == citizen_id)
        .order_by(CitizenNotice.created_at.desc(), CitizenNotice.id.desc())
        .limit(limit)
    )
    return list(rows)
