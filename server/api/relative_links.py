"""Relatives' personal links over JSON: staff who may write agreement sheets make and revoke them.

The link's URL is in the answer to the POST only; the server keeps the token's hash.
"""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit
from ..auth.authz import require_citizen
from ..citizens import agreements, relative_links
from ..identity import StaffIdentity
from ..keys import sessionmaker_key, settings_key
from ..models import Citizen, LinkPurpose, Relative, RelativeLink, utcnow
from .models import WireModel
from .spec import ApiRoutes

api = ApiRoutes(tag="relative-links")
LINKS = r"/api/citizens/{citizen_id:\d+}/relatives/{relative_id:\d+}/links"


class LinkIn(WireModel):
    """What the link opens."""

    purpose: LinkPurpose = Field(
        description="`agreements` (read the current sheet) or `call` (ring the citizen's "
        "tablet: needs the organisation's `relatives_may_call` and the relative's `relative_call` "
        "consent, else 409 `relative_calls_off` / `relative_no_consent`)."
    )


class LinkOut(WireModel):
    """A relative's link; ``url`` only in the answer that made it."""

    id: int
    relative_id: int
    citizen_id: int
    purpose: LinkPurpose
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None
    created_at: dt.datetime
    url: str | None = Field(None, description="Shown once, to the staff member who made it.")


def _out(link: RelativeLink, url: str | None = None) -> LinkOut:
    return LinkOut(
        id=link.id,
        relative_id=link.relative_id,
        citizen_id=link.citizen_id,
        purpose=link.purpose,
        expires_at=link.expires_at,
        revoked_at=link.revoked_at,
        last_used_at=link.last_used_at,
        created_at=link.created_at,
        url=url,
    )


async def _relative(
    request: web.Request, session: AsyncSession, *, removed_too: bool = False
) -> tuple[StaffIdentity, Citizen, Relative]:
    """The relative in the path, of a citizen whose sheets the caller may write."""
    citizen_id = int(request.match_info["citizen_id"])
    identity, citizen = await require_citizen(request, session, citizen_id)
    if not agreements.may_write(identity, citizen):
        async with request.app[sessionmaker_key].begin() as denied:
            audit.record(
                denied,
                "relative_link.write_denied",
                actor=identity,
                subject=("citizen", citizen_id),
                request=request,
            )
        raise agreements.MayNotWrite()
    relative = await relative_links.relative_of(
        session, citizen, int(request.match_info["relative_id"]), removed_too=removed_too
    )
    return identity, citizen, relative


def _audit(
    request: web.Request,
    session: AsyncSession,
    identity: StaffIdentity,
    action: str,
    link: RelativeLink,
) -> None:
    audit.record(
        session,
        action,
        actor=identity,
        subject=("citizen", link.citizen_id),
        detail={"relative": link.relative_id, "link": link.id, "purpose": link.purpose.value},
        request=request,
    )


@api.post(
    LINKS,
    body=LinkIn,
    response=LinkOut,
    status=201,
    summary="Make a relative's personal link (the URL is shown once)",
)
async def create_link(request: web.Request, body: LinkIn) -> LinkOut:
    """Only with the citizen's consent for that relative and purpose; expires in 30 days."""
    async with request.app[sessionmaker_key].begin() as session:
        identity, _, relative = await _relative(request, session)
        link, token = await relative_links.create(
            session, identity, relative, body.purpose, utcnow()
        )
        _audit(request, session, identity, "relative_link.create", link)
        base = request.app[settings_key].public_url.rstrip("/")
        return _out(link, base + relative_links.link_path(token))


@api.delete(
    LINKS + r"/{link_id:\d+}",
    response=LinkOut,
    summary="Revoke a relative's link",
)
async def revoke_link(request: web.Request) -> LinkOut:
    """The link stops working at once; revoking twice is harmless."""
    async with request.app[sessionmaker_key].begin() as session:
        identity, _, relative = await _relative(request, session, removed_too=True)
        link = await relative_links.revoke(
            session, relative, int(request.match_info["link_id"]), utcnow()
        )
        _audit(request, session, identity, "relative_link.revoke", link)
        return _out(link)
