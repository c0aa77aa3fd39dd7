"""Call metadata: who called whom, when, how long, how it ended. Never media."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..vocabulary import CallState, PeerKind
from .base import Base, str_enum, utcnow


class Call(Base):
    """One call, from the first ring to the hang-up (or a ring refused at once)."""

    __tablename__ = "call"
    __table_args__ = (Index("ix_call_state_lease_until", "state", "lease_until"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    visit_id: Mapped[int | None] = mapped_column(
        ForeignKey("visit.id", ondelete="SET NULL"), index=True
    )
    caller_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    state: Mapped[CallState] = mapped_column(str_enum(CallState), default=CallState.RINGING)
    auto_answer: Mapped[bool] = mapped_column(default=False)
    ring_started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[dt.datetime | None]
    ended_at: Mapped[dt.datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))
    # The process that holds the call live, and until when it vouches for it (renewed while the
    # call lasts); a call whose lease ran out belongs to a process that is gone.
    owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[dt.datetime | None]

    participants: Mapped[list[CallParticipant]] = relationship(back_populates="call", lazy="raise")


class CallParticipant(Base):
    """One participant's time in a call."""

    __tablename__ = "call_participant"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    kind: Mapped[PeerKind] = mapped_column(str_enum(PeerKind))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("kiosk_device.id"))
    joined_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    left_at: Mapped[dt.datetime | None]

    call: Mapped[Call] = relationship(back_populates="participants", lazy="raise")
