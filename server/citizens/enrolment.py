"""Tablet enrolment: pairing codes, approval by staff, the one-time device token, revocation.

A new tablet picks a random pairing secret and asks for a code (``start_pairing``); it shows
the 6-digit code; a staff member enters it on the citizen's page (``approve``); the tablet's
next poll (``claim``) mints its device token and receives it exactly once. Only hashes of the
code, the secret and the token are stored. Codes are keyed with the server secret, because a
plain hash of six digits is trivially reversed.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..errors import InvalidInput, TooManyRequests
from ..models import Citizen, KioskDevice, KioskPairing
from ..security import new_token, sign, token_hash
from ..translatable import N_

PAIRING_TTL = dt.timedelta(minutes=10)
PAIRINGS_PER_CLIENT = 20  # per PAIRING_TTL, per client address: a tablet reloading is fine

ClaimStatus = Literal["waiting", "enrolled", "claimed", "expired"]


class PairingCodeInvalid(InvalidInput):
    """The code matches no waiting tablet (mistyped, expired or already used)."""

    code = "pairing_code_invalid"
    default_message = N_("Koden passer ikke til en tablet, der venter. Tjek koden på tabletten.")


@dataclass(frozen=True, slots=True)
class Claim:
    """What the tablet learns when it polls its pairing."""

    status: ClaimStatus
    token: str | None = None
    citizen_name: str | None = None
    citizen_id: int | None = None
    kiosk_id: int | None = None


def new_code() -> str:
    """Six random digits (leading zeros kept)."""
    return f"{secrets.randbelow(1_000_000):06d}"


def code_digest(secret_key: str, code: str) -> str:
    """The stored form of a pairing code."""
    return sign(secret_key, f"pairing-code:{code}")


def client_digest(secret_key: str, address: str | None) -> str:
    """The stored form of a client address (only used to count pairings)."""
    return sign(secret_key, f"pairing-client:{address or '?'}")[:64]


def normalise_code(raw: str) -> str:
    """Accept "123 456" and "123-456" as typed; anything but six digits is invalid."""
    digits = "".join(ch for ch in raw if not ch.isspace() and ch != "-")
    if len(digits) != 6 or not digits.isdigit():
        raise PairingCodeInvalid(N_("Koden er seks cifre."))
    return digits


async def start_pairing(
    session: AsyncSession,
    secret_key: str,
    pairing_secret: str,
    address: str | None,
    now: dt.datetime,
) -> tuple[str, dt.datetime]:
    """A fresh code for this tablet's secret; replaces the tablet's earlier waiting code."""
    client = client_digest(secret_key, address)
    recent = await session.scalar(
        select(func.count())
        .select_from(KioskPairing)
        .where(KioskPairing.client_key == client, KioskPairing.created_at > now - PAIRING_TTL)
    )
    if (recent or 0) >= PAIRINGS_PER_CLIENT:
        raise TooManyRequests(N_("For mange parringskoder fra denne adresse."), retry_after=60)
    existing = await session.scalar(
        select(KioskPairing).where(KioskPairing.secret_hash == token_hash(pairing_secret))
    )
    if existing is not None:
        if existing.approved_at is not None and existing.claimed_at is None:
            raise InvalidInput(N_("Tabletten er allerede godkendt; hent dens nøgle."))
        await session.delete(existing)
        await session.flush()
    code = await _unused_code(session, secret_key, now)
    expires = now + PAIRING_TTL
    session.add(
        KioskPairing(
            code_hash=code_digest(secret_key, code),
            secret_hash=token_hash(pairing_secret),
            client_key=client,
            created_at=now,
            expires_at=expires,
        )
    )
    return code, expires


async def _unused_code(session: AsyncSession, secret_key: str, now: dt.datetime) -> str:
    """A code no other waiting tablet shows right now."""
    for _ in range(20):
        code = new_code()
        taken = await session.scalar(
            select(KioskPairing.id).where(
                KioskPairing.code_hash == code_digest(secret_key, code),
                KioskPairing.expires_at > now,
            )
        )
        if taken is None:
            return code
    raise TooManyRequests(N_("Ingen ledig parringskode lige nu."), retry_after=5)


async def approve(
    session: AsyncSession,
    secret_key: str,
    citizen: Citizen,
    staff_id: int,
    raw_code: str,
    now: dt.datetime,
) -> KioskPairing:
    """Bind the waiting tablet that shows ``raw_code`` to ``citizen``."""
    pairing = await session.scalar(
        select(KioskPairing).where(
            KioskPairing.code_hash == code_digest(secret_key, normalise_code(raw_code)),
            KioskPairing.expires_at > now,
            KioskPairing.approved_at.is_(None),
        )
    )
    if pairing is None:
        raise PairingCodeInvalid()
    pairing.citizen_id = citizen.id
    pairing.approved_by_staff_id = staff_id
    pairing.approved_at = now
    return pairing


async def claim(session: AsyncSession, pairing_secret: str, now: dt.datetime) -> Claim:
    """The tablet polls: waiting, or (once) its new device token, then "claimed"."""
    pairing = await session.scalar(
        select(KioskPairing).where(KioskPairing.secret_hash == token_hash(pairing_secret))
    )
    if pairing is None:
        return Claim("expired")
    if pairing.claimed_at is not None:
        return Claim("claimed")
    if pairing.approved_at is None or pairing.citizen_id is None:
        return Claim("expired" if pairing.expires_at <= now else "waiting")
    citizen = await session.get(Citizen, pairing.citizen_id)
    if citizen is None:
        return Claim("expired")
    # Claim first, conditionally: of two simultaneous polls only one gets a token.
    taken = await session.execute(
        update(KioskPairing)
        .where(KioskPairing.id == pairing.id, KioskPairing.claimed_at.is_(None))
        .values(claimed_at=now)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return Claim("claimed")
    token = new_token(32)
    await revoke_citizen_kiosks(session, citizen.id, now)
    device = KioskDevice(
        organisation_id=citizen.organisation_id,
        citizen_id=citizen.id,
        label=f"Tablet, {citizen.preferred_name or citizen.name}"[:200],
        token_hash=token_hash(token),
        enrolled_at=now,
    )
    session.add(device)
    await session.flush()
    pairing.kiosk_id = device.id
    pairing.claimed_at = now
    name = citizen.preferred_name or citizen.name
    return Claim("enrolled", token, name, citizen.id, device.id)


async def revoke_citizen_kiosks(
    session: AsyncSession, citizen_id: int, now: dt.datetime
) -> list[int]:
    """Revoke every active tablet of the citizen; the ids of those revoked."""
    ids = list(
        await session.scalars(
            select(KioskDevice.id).where(
                KioskDevice.citizen_id == citizen_id, KioskDevice.revoked_at.is_(None)
            )
        )
    )
    if ids:
        await session.execute(
            update(KioskDevice).where(KioskDevice.id.in_(ids)).values(revoked_at=now)
        )
    return ids
