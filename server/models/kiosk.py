"""Tablets: enrolment by a short-lived pairing code, and the self-tests a tablet reports."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class KioskPairing(Base):
    """One pairing attempt of a new tablet; neither the code nor the tablet's secret is stored.

    The tablet holds a random pairing secret (sent as a bearer token); a staff member enters
    the 6-digit code on the citizen's page, which approves the pairing for that citizen; the
    tablet's next poll then mints its device token, returned exactly once.
    """

    __tablename__ = "kiosk_pairing"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_key: Mapped[str] = mapped_column(String(64), index=True)  # hashed address, for limits
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    expires_at: Mapped[dt.datetime]
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id", ondelete="CASCADE"))
    approved_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    approved_at: Mapped[dt.datetime | None]
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("kiosk_device.id", ondelete="SET NULL"))
    claimed_at: Mapped[dt.datetime | None]


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
