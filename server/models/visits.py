"""Visit types, visit plans, visits and what is recorded about them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..sealing import SealedText
from ..vocabulary import Channel, ObservationCode, OutcomeKind, VisitStatus
from .base import Base, str_enum, utcnow


class VisitType(Base):
    """A kind of visit (medication, bath, ...) and its rules."""

    __tablename__ = "visit_type"
    __table_args__ = (UniqueConstraint("organisation_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name_da: Mapped[str]
    name_en: Mapped[str]
    non_swappable: Mapped[bool] = mapped_column(default=False)
    camera_off_by_default: Mapped[bool] = mapped_column(default=False)
    qualified_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    default_duration_min: Mapped[int] = mapped_column(default=5)
    retry_count: Mapped[int] = mapped_column(default=2)
    retry_delay_min: Mapped[int] = mapped_column(default=5)


class VisitPlan(Base):
    """A recurring plan (besøgsplan) from which visits are generated."""

    __tablename__ = "visit_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    visit_type_id: Mapped[int] = mapped_column(ForeignKey("visit_type.id"))
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), index=True)
    rrule: Mapped[str] = mapped_column(String(500))
    local_time: Mapped[dt.time]
    window_min: Mapped[int] = mapped_column(default=15)
    duration_min: Mapped[int] = mapped_column(default=5)
    channel_by_weekday: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    default_channel: Mapped[Channel] = mapped_column(str_enum(Channel), default=Channel.SCREEN)
    valid_from: Mapped[dt.date]
    valid_to: Mapped[dt.date | None]
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    visit_type: Mapped[VisitType] = relationship(lazy="raise")


class Visit(Base):
    """One planned visit; ``occurrence_key`` makes generation from a plan idempotent."""

    __tablename__ = "visit"
    __table_args__ = (UniqueConstraint("plan_id", "occurrence_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("visit_plan.id", ondelete="SET NULL"))
    occurrence_key: Mapped[str | None] = mapped_column(String(64))
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    visit_type_id: Mapped[int] = mapped_column(ForeignKey("visit_type.id"))
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"))
    assigned_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    # Given to someone outside the citizen's team and contact persons (confirmed by a planner):
    # counted in the figures as a break of continuity.
    continuity_break: Mapped[bool] = mapped_column(default=False, server_default=false())
    planned_at: Mapped[dt.datetime] = mapped_column(index=True)
    window_min: Mapped[int] = mapped_column(default=15)
    duration_min: Mapped[int] = mapped_column(default=5)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel), default=Channel.SCREEN)
    status: Mapped[VisitStatus] = mapped_column(
        str_enum(VisitStatus), default=VisitStatus.PLANNED, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    visit_type: Mapped[VisitType] = relationship(lazy="raise")


class Outcome(Base):
    """The recorded outcome of a visit; an amendment points at the outcome it replaces.

    The database keeps the history a single chain, so a visit has exactly one outcome in force:
    one first outcome per visit (``amends_id`` empty) and at most one amendment per outcome. A
    double tap, or a nurse racing the ladder's escalation, fails on these indexes instead of
    leaving two outcomes in force.
    """

    __tablename__ = "outcome"
    __table_args__ = (
        Index(
            "uq_outcome_first_per_visit",
            "visit_id",
            unique=True,
            sqlite_where=text("amends_id IS NULL"),
            postgresql_where=text("amends_id IS NULL"),
        ),
        Index("uq_outcome_amends_id", "amends_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id", ondelete="CASCADE"), index=True)
    kind: Mapped[OutcomeKind] = mapped_column(str_enum(OutcomeKind))
    reason: Mapped[str | None] = mapped_column(SealedText("outcome.reason"))
    author_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    amends_id: Mapped[int | None] = mapped_column(ForeignKey("outcome.id"))
    # The guidance steps confirmed during the call: [{"step": 1, "text": ..., "confirmed": true}]
    checklist: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)


class Observation(Base):
    """A coded observation made during a visit (early detection)."""

    __tablename__ = "observation"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id", ondelete="SET NULL"))
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[ObservationCode] = mapped_column(str_enum(ObservationCode))
    value: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(SealedText("observation.note"))
    author_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The outcome it was recorded with, so correcting that outcome replaces exactly these.
    outcome_id: Mapped[int | None] = mapped_column(
        ForeignKey("outcome.id", ondelete="SET NULL"), index=True
    )
