"""The organisation's tablets, for the administrator's table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import Citizen, KioskDevice


@dataclass(frozen=True, slots=True)
class TabletRow:
    """A tablet of the organisation."""

    id: int
    label: str
    citizen_id: int | None
    citizen_name: str | None
    enrolled_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_seen_at: dt.datetime | None


async def tablet_list(session: AsyncSession, org_id: int) -> list[TabletRow]:
    """Every tablet of the organisation with its citizen."""
    rows = await session.execute(
        select(KioskDevice, Citizen.name)
        .outerjoin(Citizen, Citizen.id == KioskDevice.citizen_id)
        .where(KioskDevice.organisation_id == org_id)
        .order_by(KioskDevice.label)
    )
    return [
        TabletRow(
            id=k.id,
            label=k.label,
            citizen_id=k.citizen_id,
            citizen_name=name,
            enrolled_at=k.enrolled_at,
            revoked_at=k.revoked_at,
            last_seen_at=k.last_seen_at,
        )
        for k, name in rows
    ]


async def citizen_choices(session: AsyncSession, org_id: int) -> list[tuple[int, str]]:
    """The organisation's citizens (id, name) for enrolling a tablet from the table, by name."""
    rows = await session.execute(
        select(Citizen.id, Citizen.name)
        .where(Citizen.organisation_id == org_id)
        .order_by(Citizen.name, Citizen.id)
    )
    return [(citizen_id, name) for citizen_id, name in rows]
