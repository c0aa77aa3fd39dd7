"""Tablets authenticate with their device token: as ``Authorization: Bearer`` on the JSON API
and in the signalling ``hello``. Only a hash of the token is stored."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..errors import Forbidden, NotAuthenticated
from ..models import Citizen, KioskDevice
from ..security import token_hash
from ..translatable import N_


@dataclass(frozen=True, slots=True)
class KioskOwner:
    """A kiosk device that authenticated, and the citizen it belongs to."""

    kiosk_id: int
    label: str
    organisation_id: int
    citizen_id: int
    citizen_name: str


def bearer_token(request: web.Request) -> str:
    """The bearer token of the request, or NotAuthenticated."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not 16 <= len(token) <= 512:
        raise NotAuthenticated(N_("Send tablettens nøgle som Authorization: Bearer."))
    return token


async def kiosk_for_token(session: AsyncSession, token: str) -> KioskOwner | None:
    """The enrolled, unrevoked kiosk holding ``token``, with its citizen; else None."""
    row = (
        await session.execute(
            select(KioskDevice, Citizen)
            .join(Citizen, Citizen.id == KioskDevice.citizen_id)
            .where(KioskDevice.token_hash == token_hash(token), KioskDevice.revoked_at.is_(None))
        )
    ).first()
    if row is None:
        return None
    kiosk, citizen = row
    name = citizen.preferred_name or citizen.name
    return KioskOwner(kiosk.id, kiosk.label, kiosk.organisation_id, citizen.id, name)


async def require_device(request: web.Request, session: AsyncSession) -> KioskOwner:
    """The enrolled, unrevoked tablet behind the request's bearer token."""
    owner = await kiosk_for_token(session, bearer_token(request))
    if owner is None:
        raise Forbidden(N_("Tabletten er ikke tilmeldt, eller den er spærret."))
    return owner
