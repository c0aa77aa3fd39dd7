"""What the citizen wants to talk about before a meeting, and the host's notes during it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from ..sealing import SealedJSON
from .base import Base, utcnow


class MeetingDialogue(Base):
    """One meeting's dialogue: the citizen's answers on the tablet (topics and who should take
    part, as codes; or that she skipped the questions) and the host's note per dignity-wheel
    theme. One row per meeting visit."""

    __tablename__ = "meeting_dialogue"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id", ondelete="CASCADE"), unique=True)
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    people: Mapped[list[str]] = mapped_column(JSON, default=list)
    answered_at: Mapped[dt.datetime | None]
    skipped_at: Mapped[dt.datetime | None]
    theme_notes: Mapped[dict[str, str]] = mapped_column(
        SealedJSON("meeting_dialogue.theme_notes"), default=dict
    )
    notes_updated_at: Mapped[dt.datetime | None]
    notes_updated_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
