"""Reminders and change notices to the citizen (on the tablet or by SMS), and what they know."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, str_enum, utcnow


class NoticeKind(enum.StrEnum):
    """Why the citizen is told something about a visit."""

    REMINDER_EVENING = "reminder_evening"
    REMINDER_SOON = "reminder_soon"
    MOVED = "moved"
    REASSIGNED = "reassigned"
    LATE = "late"
    CANCELLED = "cancelled"


class NoticeChannel(enum.StrEnum):
    """Where a notice goes: the citizen's tablet, or an SMS when there is no tablet."""

    TABLET = "tablet"
    SMS = "sms"


class CitizenNotice(Base):
    """One notice about one visit; ``key`` makes creating it idempotent (per visit and channel).

    ``shown_at`` is when the tablet first reported it on screen, ``sent_at`` when the SMS went
    out: together the log of what the citizen was told and when.
    """

    __tablename__ = "citizen_notice"
    __table_args__ = (UniqueConstraint("visit_id", "channel", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id", ondelete="CASCADE"), index=True)
    kind: Mapped[NoticeKind] = mapped_column(str_enum(NoticeKind))
    channel: Mapped[NoticeChannel] = mapped_column(str_enum(NoticeChannel))
    key: Mapped[str] = mapped_column(String(64))
    text_da: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_by_staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    show_from: Mapped[dt.datetime]
    show_until: Mapped[dt.datetime]
    shown_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    send_error: Mapped[str | None] = mapped_column(String(200))


class NoticeWatch(Base):
    """What the citizen was last told of a visit (time and person), so a change can be noticed.

    A row appears with the first reminder, or, for a citizen with few new faces, as soon as the
    visit is planned (``reminded`` false): a change of person is then told at once.
    """

    __tablename__ = "notice_watch"

    visit_id: Mapped[int] = mapped_column(
        ForeignKey("visit.id", ondelete="CASCADE"), primary_key=True
    )
    planned_at: Mapped[dt.datetime] = mapped_column(index=True)
    staff_id: Mapped[int | None]
    reminded: Mapped[bool] = mapped_column(default=False, server_default=false())
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SmsRecipient(Base):
    """The phone number a citizen without a tablet gets reminders and change notices on."""

    __tablename__ = "sms_recipient"

    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizen.id", ondelete="CASCADE"), primary_key=True
    )
    phone: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
