"""A relative's call link (`/r/<token>` of purpose ``call``): "Ring til Karen" on a phone.

The page checks camera and microphone, then rings the citizen's tablet over the signalling
socket (``hello`` with ``link``; PROTOCOL.md "A relative rings the tablet"). The socket checks
everything again on every ring; the page only says plainly why a link cannot ring now.
"""

from __future__ import annotations

from aiohttp import web

from ..citizens import relative_links
from ..citizens.relative_links import LinkState, Resolution
from ..keys import sessionmaker_key
from ..meetings import relative_calls
from ..meetings.relative_calls import Check, Refusal
from ..templating import render

STATUS = {
    LinkState.OPEN.value: 200,
    LinkState.EXPIRED.value: 410,
    LinkState.REVOKED.value: 410,
    LinkState.NO_CONSENT.value: 403,
    Refusal.CALLS_OFF.value: 403,
}


async def call_page(request: web.Request, token: str, found: Resolution) -> web.Response:
    """The ring button, or why this link cannot ring (the opening itself is audited already)."""
    state = found.state.value
    citizen, relative = found.citizen, found.relative
    if found.state is LinkState.OPEN and citizen is not None:
        async with request.app[sessionmaker_key].begin() as session:
            if not await relative_links.calls_allowed(session, citizen.id):
                state = Refusal.CALLS_OFF.value
                relative_calls.record_event(
                    session,
                    relative_calls.REFUSED_ACTION,
                    Check(Refusal.CALLS_OFF, link=found.link, org_id=citizen.organisation_id),
                    {"reason": state, "step": "page"},
                )
    open_ = state == LinkState.OPEN.value and citizen is not None
    context = {
        "state": state,
        "token": token if open_ else None,
        "citizen_id": citizen.id if open_ and citizen is not None else None,
        "citizen_name": relative_calls.first_name(citizen) if open_ and citizen else None,
        "relative": relative if open_ else None,
    }
    response = render(request, "relative_call.html", context, status=STATUS.get(state, 404))
    response.headers["Cache-Control"] = "no-store"
    response.headers.update({"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"})
    return response
