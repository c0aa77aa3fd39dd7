"""Follow-up work that comes out of visits: tasks for the team, live alerts, tablet self-tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..vocabulary import AlertKind, TaskKind
from .base import Base, str_enum, utcnow


class CareTask(Base):
    """A task for a team, e.g. a physical visit instead of a missed or converted screen visit."""

    __tablename__ = "care_task"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), index=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id", ondelete="CASCADE"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id", ondelete="SET NULL"))
    kind: Mapped[TaskKind] = mapped_column(str_enum(TaskKind))
    reason: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    done_at: Mapped[dt.datetime | None]
    done_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


class Alert(Base):
    """Something the team must see now; stays until a staff member acknowledges it."""

    __tablename__ = "alert"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), index=True)
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id", ondelete="CASCADE"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id", ondelete="SET NULL"))
    kind: Mapped[AlertKind] = mapped_column(str_enum(AlertKind))
    message: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


class KioskSelfTest(Base):
    """One tablet self-test: camera, microphone, signalling round-trip, media loopback."""

    __tablename__ = "kiosk_selftest"

    id: Mapped[int] = mapped_column(primary_key=True)
    kiosk_id: Mapped[int] = mapped_column(
        ForeignKey("kiosk_device.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ok: Mapped[bool]
    failed_part: Mapped[str | None] = mapped_column(String(32))
    rtt_ms: Mapped[float | None]
    loss_pct: Mapped[float | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
