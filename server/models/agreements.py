"""The "Aftaler i dag" sheet written at a visitation or start-up meeting."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class AgreementSheet(Base):
    """What was agreed with the citizen at a meeting; it stays with the citizen.

    The citizen's own words and what relatives said are separate columns (PRODUCT.md rule 6):
    the citizen's voice must never be blended into the relatives'.
    """

    __tablename__ = "agreement_sheet"

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id", ondelete="SET NULL"))
    meeting_date: Mapped[dt.date]
    participants: Mapped[list[str]] = mapped_column(JSON, default=list)
    topics: Mapped[str | None] = mapped_column(Text)
    citizen_says: Mapped[str | None] = mapped_column(Text)
    relatives_say: Mapped[str | None] = mapped_column(Text)
    citizen_does: Mapped[str | None] = mapped_column(Text)
    municipality_does: Mapped[str | None] = mapped_column(Text)
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    author_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    updated_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
