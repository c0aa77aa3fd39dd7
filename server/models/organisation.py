"""Organisations, teams, staff and their login state."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..vocabulary import Role
from .base import Base, str_enum, utcnow

if TYPE_CHECKING:
    from .citizen import Citizen


class Organisation(Base):
    """A municipality (or a provider) running screenvisit; settings hold its policy choices."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str]
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    teams: Mapped[list[Team]] = relationship(back_populates="organisation", lazy="raise")


class Team(Base):
    """A fixed home-care team (fast team)."""

    __tablename__ = "team"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str]
    phone: Mapped[str | None] = mapped_column(String(40))

    organisation: Mapped[Organisation] = relationship(back_populates="teams", lazy="raise")
    members: Mapped[list[TeamMembership]] = relationship(back_populates="team", lazy="raise")
    citizens: Mapped[list[Citizen]] = relationship(back_populates="team", lazy="raise")


class Staff(Base):
    """A staff member who logs in: nurse, carer, visitator, planner or administrator."""

    __tablename__ = "staff"
    # A username is unique within its organisation only: municipalities name their people
    # themselves (initials collide between them), and "taken" must not tell one organisation's
    # administrator which usernames another has.
    __table_args__ = (UniqueConstraint("organisation_id", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    display_name: Mapped[str]
    role: Mapped[Role] = mapped_column(str_enum(Role))
    password_hash: Mapped[str] = mapped_column(String(255))
    photo_url: Mapped[str | None] = mapped_column(String(500))
    language: Mapped[str] = mapped_column(String(8), default="da")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    memberships: Mapped[list[TeamMembership]] = relationship(back_populates="staff", lazy="raise")


class TeamMembership(Base):
    """Staff belong to one or more teams; scope of citizen access follows it."""

    __tablename__ = "team_membership"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), primary_key=True, index=True)

    staff: Mapped[Staff] = relationship(back_populates="memberships", lazy="raise")
    team: Mapped[Team] = relationship(back_populates="members", lazy="raise")


class StaffSession(Base):
    """A server-side login session; the cookie carries a token whose hash is stored here."""

    __tablename__ = "staff_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    remote: Mapped[str | None] = mapped_column(String(64))


class LoginThrottle(Base):
    """Failed-login bookkeeping per throttle key: a username from one client address, a client
    address, or a username from anywhere (known or not, so it reveals nothing)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[dt.datetime | None]
    locked_until: Mapped[dt.datetime | None]
