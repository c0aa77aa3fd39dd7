"""Tablets authenticate with their device token: as ``Authorization: Bearer`` on the JSON API
and in the signalling ``hello``. Only a hash of the token is stored."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..errors import Forbidden, NotAuthenticated
from ..models import Citizen, KioskDevice
from ..security import token_hash
from ..translatable import N_
from ..ttlcache import TtlCache

LOOKUP_BATCH = 500  # token hashes per query while tablets crowd in


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
    digest = token_hash(token)
    return (await kiosks_for_hashes(session, [digest])).get(digest)


async def kiosks_for_hashes(
    session: AsyncSession, digests: Collection[str]
) -> dict[str, KioskOwner]:
    """The enrolled, unrevoked kiosks among these token hashes, by hash."""
    # Columns, not entities: a reconnect storm looks up thousands of tablets, and loading whole
    # citizens (identity map, sealed columns opened) cost more than the query itself.
    rows = await session.execute(
        select(
            KioskDevice.token_hash,
            KioskDevice.id,
            KioskDevice.label,
            KioskDevice.organisation_id,
            Citizen.id,
            Citizen.preferred_name,
            Citizen.name,
        )
        .join(Citizen, Citizen.id == KioskDevice.citizen_id)
        .where(KioskDevice.token_hash.in_(list(digests)), KioskDevice.revoked_at.is_(None))
    )
    return {
        digest or "": KioskOwner(kiosk_id, label, org_id, citizen_id, preferred or name)
        for digest, kiosk_id, label, org_id, citizen_id, preferred, name in rows
    }


Found = KioskOwner | None | Exception


class KioskTokens:
    """The signalling handshake's token lookup: a tablet that was let in a moment ago is let in
    again from memory (a reconnect), and the tokens of tablets that crowd in together (after a
    restart) are looked up together, one query and one pooled connection at a time, so a
    reconnect storm never queues thousands of transactions behind each other.

    A revoked tablet must be refused at once: revocation calls ``forget_citizen``, and a
    socket the server closes for good forgets its tablet (``forget_kiosk``). Entries expire
    after ``ttl_s`` seconds, which bounds how long another process may still trust one.
    """

    def __init__(self, ttl_s: float) -> None:
        self._known: TtlCache[str, KioskOwner] = TtlCache(ttl_s, time.monotonic)
        self._waiting: dict[str, asyncio.Future[Found]] = {}
        self._lookup: asyncio.Task[None] | None = None

    async def owner(
        self, sessionmaker: async_sessionmaker[AsyncSession], token: str
    ) -> KioskOwner | None:
        """The kiosk holding ``token`` (from memory or with the others waiting); else None.
        A database failure (a full pool) is raised to the caller."""
        digest = token_hash(token)
        known = self._known.get(digest)
        if known is not None:
            return known
        future = self._waiting.get(digest)
        if future is None:
            future = self._waiting[digest] = asyncio.get_running_loop().create_future()
            if self._lookup is None or self._lookup.done():
                self._lookup = asyncio.create_task(self._look_up(sessionmaker))
        found = await asyncio.shield(future)
        if isinstance(found, Exception):
            raise found
        return found

    def forget_citizen(self, citizen_id: int) -> None:
        """The citizen's tablets were revoked or replaced: look their tokens up afresh."""
        self._known.forget(lambda owner: owner.citizen_id == citizen_id)

    def forget_kiosk(self, kiosk_id: int) -> None:
        """This tablet's socket was closed for good: look its token up afresh."""
        self._known.forget(lambda owner: owner.kiosk_id == kiosk_id)

    async def _look_up(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        """Answer everyone waiting, a batch per query, until nobody is left waiting."""
        while self._waiting:
            batch = dict(list(self._waiting.items())[:LOOKUP_BATCH])
            for digest in batch:
                del self._waiting[digest]
            try:
                async with sessionmaker() as session:
                    found = await kiosks_for_hashes(session, batch)
            except Exception as exc:  # every waiter hears it (a full pool: try again)
                _answer(batch, dict.fromkeys(batch, exc))
                continue
            for digest, owner in found.items():
                self._known.put(digest, owner)
            _answer(batch, found)


# Declared here, not in keys.py: auth imports keys.
kiosk_tokens_key = web.AppKey("kiosk_tokens_key", KioskTokens)


def _answer(waiting: dict[str, asyncio.Future[Found]], found: Mapping[str, Found]) -> None:
    """Wake each waiter with its kiosk, None (unknown or revoked) or the failure."""
    for digest, future in waiting.items():
        if not future.done():
            future.set_result(found.get(digest))


async def require_device(request: web.Request, session: AsyncSession) -> KioskOwner:
    """The enrolled, unrevoked tablet behind the request's bearer token."""
    owner = await kiosk_for_token(session, bearer_token(request))
    if owner is None:
        raise Forbidden(N_("Tabletten er ikke tilmeldt, eller den er spærret."))
    return owner
