"""The guest's page ``/join/<token>``: no account, Danish or English by the browser.

An unusable link (unknown, revoked, not yet open, over, locked by wrong PINs, consent withdrawn,
its guest denied by the host a moment ago) gets a clear page that tells nothing about the
meeting, and an audit event; a PIN, when the invite has one, is asked first. A usable one shows
the name field, the camera and microphone check and the way into the lobby
(``web/static/js/join.js``). Unknown tokens and wrong PINs count against the client's address;
wrong PINs also lock the invite.
"""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from ..errors import TooManyRequests
from ..keys import sessionmaker_key, settings_key
from ..meetings import access, invites
from ..meetings.access import Device, address_key, audit_guest, device_of, join_limits_key
from ..meetings.invites import InviteState, Lookup
from ..middlewares import redirect
from ..models import MeetingInvite, utcnow
from ..signaling import hub_key
from ..templating import render

routes = web.RouteTableDef()

# The HTTP status of each unusable state: the page says the rest in words.
STATUS = {
    InviteState.UNKNOWN: 404,
    InviteState.REVOKED: 410,
    InviteState.EXPIRED: 410,
    InviteState.NOT_YET: 403,
    InviteState.LOCKED: 429,
    InviteState.NO_CONSENT: 403,
}
TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class PinForm(BaseModel):
    """The PIN form (the CSRF token is checked by middleware)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    pin: str = Field(min_length=1, max_length=12)


def plausible(token: str) -> bool:
    """A token we could have made (no database lookup for junk)."""
    return 16 <= len(token) <= 128 and set(token) <= TOKEN_CHARS


async def find(session: AsyncSession, token: str, now: dt.datetime) -> Lookup:
    """The invite behind the token and whether it works now."""
    if not plausible(token):
        return Lookup(InviteState.UNKNOWN)
    return await invites.lookup(session, token, now)


def refused_page(request: web.Request, found: Lookup) -> web.Response:
    """The clear page for a link that does not work now (nothing about the meeting)."""
    opens = None
    if found.state is InviteState.NOT_YET and found.invite is not None:
        zone = request.app[settings_key].zone
        opens = found.invite.valid_from.astimezone(zone).strftime("%d.%m.%Y %H:%M")
    context = {"state": "refused", "reason": found.state.value, "opens": opens}
    return render(request, "join.html", context, status=STATUS[found.state])


def throttled_page(request: web.Request, exc: TooManyRequests) -> web.Response:
    """Too many wrong tokens or PINs from this address."""
    response = render(request, "join.html", {"state": "refused", "reason": "throttled"}, status=429)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def denied_page(request: web.Request) -> web.Response:
    """The host turned this invite's guest away a moment ago: not again for a while."""
    return render(request, "join.html", {"state": "refused", "reason": "denied"}, status=403)


def pin_page(request: web.Request, *, wrong: bool = False) -> web.Response:
    """Ask for the PIN the host gave out of band."""
    context = {"state": "pin", "wrong": wrong, "action": request.path}
    return render(request, "join.html", context, status=401 if wrong else 200)


def ready_page(request: web.Request, invite: MeetingInvite, token: str) -> web.Response:
    """Name, camera and microphone check, then the lobby."""
    context = {"state": "ready", "name": invite.name, "token": token}
    return render(request, "join.html", context)


def with_device(request: web.Request, response: web.Response, device: Device) -> web.Response:
    """Set a new device cookie on the response."""
    if device.fresh:
        secure = request.app[settings_key].secure_cookies
        access.set_cookie(request, response, access.DEVICE_COOKIE, device.token, secure)
    return response


@routes.get(r"/join/{token}", name="join")
async def join_page(request: web.Request) -> web.StreamResponse:
    """The guest's way in: a refusal, the PIN, or the name and device check."""
    token = request.match_info["token"]
    address = address_key(request)
    limits = request.app[join_limits_key].by_address
    try:
        attempt = await limits.take(address)
    except TooManyRequests as exc:
        return throttled_page(request, exc)
    device = device_of(request)
    secret = request.app[settings_key].secret_key
    now = utcnow()
    async with request.app[sessionmaker_key].begin() as session:
        found = await find(session, token, now)
        invite = found.invite
        if found.state is not InviteState.OPEN or invite is None:
            audit_guest(session, request, "invite.refused", found, {"reason": found.state.value})
            response = refused_page(request, found)
        elif not access.pin_given(request, secret, invite, device):
            response = pin_page(request)
        elif await request.app[hub_key].lobby.turned_away(invite.id):
            audit_guest(session, request, "invite.refused", found, {"reason": "denied"})
            response = denied_page(request)
        else:
            another = invites.first_use(invite, device.hash, now)
            audit_guest(session, request, "invite.open", found, {"another_device": another})
            response = ready_page(request, invite, token)
    if found.state is not InviteState.UNKNOWN:  # only unknown invites count as guesses
        await limits.forgive(address, attempt)
    return with_device(request, response, device)


@routes.post(r"/join/{token}")
async def join_pin(request: web.Request) -> web.StreamResponse:
    """Check the PIN: right sets this device's PIN pass; wrong counts (address and invite)."""
    token = request.match_info["token"]
    address = address_key(request)
    limits = request.app[join_limits_key].by_address
    try:
        attempt = await limits.take(address)
    except TooManyRequests as exc:
        return throttled_page(request, exc)
    try:
        form = PinForm.model_validate(dict(await request.post()))
    except ValidationError:
        return pin_page(request, wrong=True)  # counted: a malformed PIN is a wrong one
    device = device_of(request)
    settings = request.app[settings_key]
    now = utcnow()
    async with request.app[sessionmaker_key].begin() as session:
        found = await find(session, token, now)
        invite = found.invite
        if found.state is not InviteState.OPEN or invite is None:
            audit_guest(session, request, "invite.refused", found, {"reason": found.state.value})
            right, response = False, refused_page(request, found)
        else:
            right = await invites.check_pin(invite, form.pin, now)
            locked = invite.locked_until is not None and invite.locked_until > now
            action = "invite.pin_ok" if right else "invite.pin_wrong"
            audit_guest(session, request, action, found, {"locked": locked} if locked else None)
            if locked:
                locked_out = Lookup(InviteState.LOCKED, invite, found.organisation_id)
                response = refused_page(request, locked_out)
            else:
                response = pin_page(request, wrong=True) if not right else redirect(request.path)
            if right:
                value = access.pin_pass(settings.secret_key, invite, device)
                secure = settings.secure_cookies
                access.set_cookie(request, response, access.PASS_COOKIE, value, secure)
    if right:
        await limits.forgive(address, attempt)
    return with_device(request, response, device)
