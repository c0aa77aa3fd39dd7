"""A visitation meeting for a demo citizen, and the relative on file, written straight to the
database (the planner's screens are tested elsewhere)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from server.db import make_engine, make_sessionmaker
from server.models import (
    AuditEvent,
    Citizen,
    Consent,
    MeetingInvite,
    Relative,
    Visit,
    VisitType,
    utcnow,
)
from server.sealing import development_keyring
from server.settings import Settings
from server.vocabulary import ConsentKind

KAREN = 1  # demo citizen 1: Team Nord (anna nurse, carla carer)


async def meeting(
    settings: Settings,
    *,
    citizen_id: int = KAREN,
    starts_in: dt.timedelta = dt.timedelta(minutes=5),
    code: str = "visitation_meeting",
) -> int:
    """A meeting visit (or another type by ``code``) starting ``starts_in`` from now."""
    engine = make_engine(settings.database_url, keyring=development_keyring())
    try:
        async with make_sessionmaker(engine).begin() as session:
            citizen = await session.get(Citizen, citizen_id)
            assert citizen is not None
            type_id = await session.scalar(
                select(VisitType.id).where(
                    VisitType.organisation_id == citizen.organisation_id, VisitType.code == code
                )
            )
            assert type_id is not None
            visit = Visit(
                citizen_id=citizen_id,
                visit_type_id=type_id,
                team_id=citizen.team_id,
                planned_at=utcnow() + starts_in,
                duration_min=45,
            )
            session.add(visit)
            await session.flush()
            return visit.id
    finally:
        await engine.dispose()


async def relative_of(settings: Settings, citizen_id: int = KAREN) -> int:
    """The demo relative of the citizen (who may join meetings)."""
    engine = make_engine(settings.database_url, keyring=development_keyring())
    try:
        async with make_sessionmaker(engine)() as session:
            found = await session.scalar(
                select(Relative.id).where(Relative.citizen_id == citizen_id)
            )
            assert found is not None
            return found
    finally:
        await engine.dispose()


async def withdraw_join_consent(settings: Settings, relative_id: int) -> None:
    """The citizen withdraws the relative's consent to join meetings."""
    engine = make_engine(settings.database_url, keyring=development_keyring())
    try:
        async with make_sessionmaker(engine).begin() as session:
            await session.execute(
                update(Consent)
                .where(
                    Consent.relative_id == relative_id, Consent.kind == ConsentKind.RELATIVE_JOIN
                )
                .values(withdrawn_at=utcnow())
            )
    finally:
        await engine.dispose()


async def audit_actions(settings: Settings, prefix: str = "invite.") -> list[str]:
    """Every audited invite action, oldest first."""

    engine = make_engine(settings.database_url, keyring=development_keyring())
    try:
        async with make_sessionmaker(engine)() as session:
            rows = await session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.like(prefix + "%"))
                .order_by(AuditEvent.id)
            )
            return list(rows)
    finally:
        await engine.dispose()


async def expire_invite(settings: Settings, invite_id: int) -> None:
    """The meeting of this invite ended a minute ago."""

    engine = make_engine(settings.database_url, keyring=development_keyring())
    try:
        async with make_sessionmaker(engine).begin() as session:
            await session.execute(
                update(MeetingInvite)
                .where(MeetingInvite.id == invite_id)
                .values(valid_until=utcnow() - dt.timedelta(minutes=1))
            )
    finally:
        await engine.dispose()


async def audit_details(settings: Settings, action: str) -> list[dict[str, object]]:
    """The details of every audit event of ``action``, oldest first."""
    engine = make_engine(settings.database_url, keyring=development_keyring())
    try:
        async with make_sessionmaker(engine)() as session:
            rows = await session.scalars(
                select(AuditEvent.detail).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
            return [dict(r) for r in rows]
    finally:
        await engine.dispose()
