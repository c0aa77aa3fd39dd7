"""A team's inbox: what someone must act on, kept until someone closes it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..sealing import SealedText
from ..vocabulary import InboxKind, InboxState
from .base import Base, str_enum, utcnow


class InboxItem(Base):
    """An alert, a request or a task for a team: open, taken by someone, done or dismissed.

    Closing sets ``closed_at``/``closed_by_staff_id`` and keeps the note (what was done, or why it
    was dismissed); nothing is deleted. Every change is also in the audit log.
    """

    __tablename__ = "inbox_item"
    __table_args__ = (Index("ix_inbox_item_team_id_state", "team_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"))
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id", ondelete="CASCADE"))
    visit_id: Mapped[int | None] = mapped_column(
        ForeignKey("visit.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[InboxKind] = mapped_column(str_enum(InboxKind))
    message: Mapped[str] = mapped_column(Text)
    state: Mapped[InboxState] = mapped_column(str_enum(InboxState), default=InboxState.OPEN)
    due_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    taken_at: Mapped[dt.datetime | None]
    taken_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    closed_at: Mapped[dt.datetime | None]
    closed_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # What was done, or why it was dismissed.
    note: Mapped[str | None] = mapped_column(SealedText("inbox_item.note"))
    escalated_at: Mapped[dt.datetime | None]  # overdue: told the organisation's on-call once
    escalated_to: Mapped[str | None] = mapped_column(String(32))
