"""The "Aftaler i dag" sheet written at a visitation or start-up meeting, and its versions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..sealing import SealedText
from .base import Base, utcnow


class SheetContent:
    """What a sheet says: the same columns on the sheet (its newest version) and each version.

    The citizen's own words and what relatives said are separate columns (PRODUCT.md rule 6):
    the citizen's voice must never be blended into the relatives'.
    """

    meeting_date: Mapped[dt.date]
    participants: Mapped[list[str]] = mapped_column(JSON, default=list)
    topics: Mapped[str | None] = mapped_column(SealedText("agreement.topics"))
    citizen_says: Mapped[str | None] = mapped_column(SealedText("agreement.citizen_says"))
    relatives_say: Mapped[str | None] = mapped_column(SealedText("agreement.relatives_say"))
    citizen_does: Mapped[str | None] = mapped_column(SealedText("agreement.citizen_does"))
    municipality_does: Mapped[str | None] = mapped_column(SealedText("agreement.municipality_does"))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    follow_up_date: Mapped[dt.date | None]


class AgreementSheet(SheetContent, Base):
    """What was agreed with the citizen at a meeting; it stays with the citizen."""

    __tablename__ = "agreement_sheet"

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id", ondelete="SET NULL"))
    # The number of the version this row shows (the newest); every edit adds a version.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    author_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    updated_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AgreementVersion(SheetContent, Base):
    """One version of a sheet as it was written, kept for good: what was agreed on the day
    stays readable after later edits. The sheet row holds a copy of the newest."""

    __tablename__ = "agreement_version"
    __table_args__ = (UniqueConstraint("sheet_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(
        ForeignKey("agreement_sheet.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int]
    author_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
