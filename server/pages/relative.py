"""A relative's page (`/r/<token>`): the citizen's current agreement sheet, without an account.

Every opening is checked against the citizen's consent for that relative (see
``citizens.relative_links``) and audited; an unknown, expired or revoked link or a withdrawn
consent gets a plain page that shows nothing of the citizen. Wrong tokens count per client
address (``FailureLimiter``). The page follows the browser's language, with a switch.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit
from ..citizens import agreements, relative_links
from ..citizens.relative_links import LinkState, Resolution
from ..errors import TooManyRequests
from ..keys import relative_link_limiter_key, sessionmaker_key, settings_key
from ..localtime import local_day
from ..models import AgreementSheet, LinkPurpose, utcnow
from ..templating import render
from . import relative_call

routes = web.RouteTableDef()
STATUS = {
    LinkState.OPEN: 200,
    LinkState.UNKNOWN: 404,
    LinkState.EXPIRED: 410,
    LinkState.REVOKED: 410,
    LinkState.NO_CONSENT: 403,
}
NO_REFERRER = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


def _audit(
    request: web.Request, session: AsyncSession, found: Resolution, sheet: AgreementSheet | None
) -> None:
    """``relative_link.open`` or ``relative_link.refused`` with the reason; the actor is the
    relative the link was made for (nobody, for an unknown token)."""
    link, relative = found.link, found.relative
    opened = found.state == LinkState.OPEN
    detail: dict[str, object] = {"reason": found.state.value}
    if link is not None:
        detail |= {"link": link.id, "relative": link.relative_id, "purpose": link.purpose.value}
    if sheet is not None:
        detail |= {"agreement": sheet.id, "version": sheet.version}
    event = audit.record(
        session,
        "relative_link.open" if opened else "relative_link.refused",
        actor=f"relative:{relative.id}" if relative is not None else "anonymous",
        subject=("citizen", link.citizen_id) if link is not None else None,
        detail=detail,
        request=request,
    )
    if found.citizen is not None:
        event.organisation_id = found.citizen.organisation_id


async def _open(request: web.Request, token: str) -> tuple[Resolution, AgreementSheet | None]:
    now = utcnow()
    async with request.app[sessionmaker_key].begin() as session:
        found = await relative_links.resolve(session, token, now)
        sheet = None
        agreements_link = found.link is not None and found.link.purpose is LinkPurpose.AGREEMENTS
        if found.state == LinkState.OPEN and found.citizen is not None and agreements_link:
            today = local_day(now, request.app[settings_key].zone)
            sheet = await agreements.latest(session, found.citizen.id, today)
        _audit(request, session, found, sheet)
    return found, sheet


@routes.get(r"/r/{token}", name="relative_link")
async def relative_page(request: web.Request) -> web.Response:
    """The current agreement sheet, or a plain page saying why not."""
    token = request.match_info["token"]
    address = request.remote or "unknown"
    limiter = request.app[relative_link_limiter_key]
    try:
        attempt = await limiter.take(address)
    except TooManyRequests:
        return _page(request, {"state": "too_many"}, 429)
    found, sheet = await _open(request, token[:200])
    if found.state != LinkState.UNKNOWN:  # only unknown links count as guesses
        await limiter.forgive(address, attempt)
    if found.link is not None and found.link.purpose is LinkPurpose.CALL:
        return await relative_call.call_page(request, token[:200], found)  # "Ring til Karen"
    context = {
        "state": found.state.value,
        "sheet": sheet,
        "citizen": found.citizen if found.state == LinkState.OPEN else None,
        "relative": found.relative if found.state == LinkState.OPEN else None,
    }
    return _page(request, context, STATUS[found.state])


def _page(request: web.Request, context: Mapping[str, object], status: int) -> web.Response:
    response = render(request, "relative_agreements.html", context, status=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers.update(NO_REFERRER)
    return response
