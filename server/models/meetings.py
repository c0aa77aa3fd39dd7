"""Who may join a meeting from outside (invites) and relatives' personal links."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, str_enum, utcnow


class InviteeKind(enum.StrEnum):
    """Who an invite is for: a relative on file, or another guest (an interpreter, a therapist)."""

    RELATIVE = "relative"
    GUEST = "guest"


class MeetingInvite(Base):
    """One person's way into one meeting (`/join/<token>`).

    Only the token's hash is stored. It works from shortly before the meeting until it ends
    (``valid_from`` … ``valid_until``), for one person: the first device to use it is
    remembered (``device_hash``), and another device goes to the lobby for the host to decide.
    A PIN given out of band is optional (Argon2id hash). Wrong PINs count in
    ``failed_attempts`` and lock the invite until ``locked_until``.
    """

    __tablename__ = "meeting_invite"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id", ondelete="CASCADE"), index=True)
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[InviteeKind] = mapped_column(str_enum(InviteeKind))
    relative_id: Mapped[int | None] = mapped_column(ForeignKey("relative.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    valid_from: Mapped[dt.datetime]
    valid_until: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    first_used_at: Mapped[dt.datetime | None]
    device_hash: Mapped[str | None] = mapped_column(String(64))
    failed_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[dt.datetime | None]
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LinkPurpose(enum.StrEnum):
    """What a relative's personal link opens."""

    AGREEMENTS = "agreements"  # the citizen's current agreement sheet
    CALL = "call"  # ring the citizen's tablet (when the organisation allows it)


class RelativeLink(Base):
    """A relative's personal, expiring link; only the token's hash is stored. What it opens is
    checked against the citizen's consent for that relative on every use, not only when made."""

    __tablename__ = "relative_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    relative_id: Mapped[int] = mapped_column(
        ForeignKey("relative.id", ondelete="CASCADE"), index=True
    )
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[LinkPurpose] = mapped_column(str_enum(LinkPurpose))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
