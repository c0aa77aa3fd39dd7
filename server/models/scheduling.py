"""What scheduling adds around visit plans: one-off changes, pauses, adjustments, feeds, notices."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..vocabulary import Channel
from .base import Base, str_enum, utcnow
from .calls import Call
from .visits import Visit


class PlanChange(Base):
    """A one-off change to one day of a plan: move, cancel or switch channel."""

    __tablename__ = "plan_change"
    __table_args__ = (UniqueConstraint("plan_id", "local_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("visit_plan.id", ondelete="CASCADE"))
    local_date: Mapped[dt.date]  # the original local date of the occurrence (Settings.timezone)
    kind: Mapped[str] = mapped_column(String(16))  # "move" | "cancel" | "switch"
    move_to_date: Mapped[dt.date | None]
    move_to_time: Mapped[dt.time | None]
    channel: Mapped[Channel | None] = mapped_column(str_enum(Channel))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


class CitizenPause(Base):
    """No visits for a citizen on local dates start..end (hospital stay, holiday)."""

    __tablename__ = "citizen_pause"

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    start: Mapped[dt.date]
    end: Mapped[dt.date]
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


class PlanAdjustment(Base):
    """Temporary extra visits on top of a plan, e.g. a 15:00 reassurance call for 14 days."""

    __tablename__ = "plan_adjustment"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("visit_plan.id", ondelete="CASCADE"), index=True
    )
    visit_type_id: Mapped[int] = mapped_column(ForeignKey("visit_type.id"))
    rrule: Mapped[str] = mapped_column(String(500))
    local_time: Mapped[dt.time]
    valid_from: Mapped[dt.date]
    valid_to: Mapped[dt.date]
    channel: Mapped[Channel] = mapped_column(str_enum(Channel), default=Channel.SCREEN)
    window_min: Mapped[int] = mapped_column(default=15)
    duration_min: Mapped[int] = mapped_column(default=5)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


class ImportJob(Base):
    """A care-record import running in the background: its progress and, when done, its report.

    ``state`` goes queued → validating → writing → done, or ends as ``rejected`` (a line is
    invalid: nothing written) or ``failed`` (an unexpected error: nothing written).
    """

    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    format: Mapped[str] = mapped_column(String(8))  # "csv" | "json"
    filename: Mapped[str | None] = mapped_column(String(200))
    dry_run: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    total_lines: Mapped[int] = mapped_column(default=0)
    done_lines: Mapped[int] = mapped_column(default=0)
    citizens: Mapped[int] = mapped_column(default=0)
    plans: Mapped[int] = mapped_column(default=0)
    visits_generated: Mapped[int] = mapped_column(default=0)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]


class ExternalRef(Base):
    """Which local row a care-record id was imported as, so a re-import updates, not duplicates."""

    __tablename__ = "external_ref"
    __table_args__ = (UniqueConstraint("organisation_id", "kind", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    kind: Mapped[str] = mapped_column(String(16))  # "citizen" | "plan"
    external_id: Mapped[str] = mapped_column(String(64))
    local_id: Mapped[int]


class CalendarFeed(Base):
    """A private iCalendar URL for a staff member's or a team's visits; only its hash is stored."""

    __tablename__ = "calendar_feed"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    owner_staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]
    # Set when made (FEED_DAYS on); empty for feeds from before 0017, which expire FEED_DAYS
    # after created_at.
    expires_at: Mapped[dt.datetime | None]


class Notification(Base):
    """A notice to a relative (an outbox row): shown in the app, delivered by the notifier."""

    __tablename__ = "notification"
    __table_args__ = (UniqueConstraint("visit_id", "relative_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    relative_id: Mapped[int] = mapped_column(ForeignKey("relative.id", ondelete="CASCADE"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))


class JobLock(Base):
    """One row per background job; updating it first serialises the job across processes."""

    __tablename__ = "job_lock"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    ran_at: Mapped[dt.datetime | None]


# Day lists read one team's visits of one day out of hundreds of thousands.
Index("ix_visit_team_id_planned_at", Visit.team_id, Visit.planned_at)
# Key figures read the calls of a team's visits (call.visit_id had no index).
Index("ix_call_visit_id", Call.visit_id)
