"""Citizens and what belongs to them: contact persons, consents, relatives, tablets."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ColumnElement, ForeignKey, String, UniqueConstraint, and_, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..sealing import SealedText
from ..vocabulary import ConsentKind
from .base import Base, str_enum, utcnow

if TYPE_CHECKING:
    from .organisation import Staff, Team


class Citizen(Base):
    """An elderly citizen (borger) who receives screen visits on a kiosk tablet."""

    __tablename__ = "citizen"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), index=True)
    name: Mapped[str]
    preferred_name: Mapped[str | None]
    photo_url: Mapped[str | None] = mapped_column(String(500))
    language: Mapped[str] = mapped_column(String(8), default="da")
    special_approach: Mapped[str | None] = mapped_column(SealedText("citizen.special_approach"))
    wishes: Mapped[str | None] = mapped_column(SealedText("citizen.wishes"))
    # Does not tolerate new faces: automatic assignment keeps to contact persons and those who
    # visited lately, and a new face needs a planner's confirmation.
    few_new_faces: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    team: Mapped[Team] = relationship(back_populates="citizens", lazy="raise")
    contact_persons: Mapped[list[ContactPerson]] = relationship(
        back_populates="citizen", lazy="raise", order_by="ContactPerson.priority"
    )


class ContactPerson(Base):
    """One of the citizen's 2-3 fixed contact persons (kontaktperson)."""

    __tablename__ = "contact_person"
    __table_args__ = (UniqueConstraint("citizen_id", "staff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    priority: Mapped[int] = mapped_column(default=1)

    citizen: Mapped[Citizen] = relationship(back_populates="contact_persons", lazy="raise")
    staff: Mapped[Staff] = relationship(lazy="raise")


class Consent(Base):
    """An explicit, stored consent; withdrawing sets ``withdrawn_at`` so history is kept.

    ``relative_id`` names the relative a relative consent is for (join, call, notices); the
    citizen-wide kinds (screen visits, auto-answer) have none.
    """

    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ConsentKind] = mapped_column(str_enum(ConsentKind))
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    granted_by: Mapped[str]
    granted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    recorded_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    relative_id: Mapped[int | None] = mapped_column(
        ForeignKey("relative.id", ondelete="CASCADE"), index=True
    )
    note: Mapped[str | None] = mapped_column(SealedText("consent.note"))
    withdrawn_at: Mapped[dt.datetime | None]
    withdrawn_by: Mapped[str | None]
    withdrawn_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))

    @classmethod
    def in_force(cls, kind: ConsentKind) -> ColumnElement[bool]:
        """The one condition for "an active consent of ``kind``" that every reader uses."""
        return and_(cls.kind == kind, cls.withdrawn_at.is_(None))


class Relative(Base):
    """A relative (pårørende) and what the citizen lets them do."""

    __tablename__ = "relative"

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str]
    relation: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    may_join_meetings: Mapped[bool] = mapped_column(default=False)
    may_call: Mapped[bool] = mapped_column(default=False)
    may_see_agreements: Mapped[bool] = mapped_column(default=False)
    may_be_notified: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime | None] = mapped_column(default=utcnow)
    removed_at: Mapped[dt.datetime | None]  # kept for the history; no longer a relative on file


class KioskDevice(Base):
    """A lent tablet; only a hash of its device token is stored."""

    __tablename__ = "kiosk_device"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"), index=True)
    label: Mapped[str]
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    enrolled_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    last_seen_at: Mapped[dt.datetime | None]
    volume_cap: Mapped[int] = mapped_column(default=100)
