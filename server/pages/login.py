"""Login and logout pages."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit
from ..auth import throttle
from ..auth.sessions import SESSION_COOKIE, close_session, open_session
from ..errors import TooManyRequests
from ..i18n import request_language, translator
from ..keys import (
    identity_key,
    login_locks_key,
    metrics_key,
    sessionmaker_key,
    settings_key,
)
from ..middlewares import redirect
from ..models import Organisation, Staff, utcnow
from ..security import DUMMY_PASSWORD_HASH, verify_password_off_loop
from ..settings import Settings
from ..signaling import hub_key
from ..templating import render
from ..translatable import N_, translated

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()


class LoginForm(BaseModel):
    """The login form's fields (the CSRF token is checked by middleware)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    next: str = Field(default="/", max_length=500)
    # Asked only when the username and password fit people of several organisations.
    organisation: str = Field(default="", max_length=64)


@dataclass(frozen=True, slots=True)
class WhichOrganisation:
    """The username and password are right in more than one organisation: ask which."""

    choices: list[tuple[str, str]]  # (slug, name)


def safe_next(target: str) -> str:
    """Only same-site paths are followed after login (no open redirect).

    Read the way a browser reads a Location: it drops tabs and line breaks anywhere and treats
    a backslash as a slash, so "/<TAB>/evil.example" and "/<BACKSLASH>evil.example" both lead
    to another host.
    Any control character or backslash is refused outright (a CR/LF would also break the header).
    """
    if any(ch < " " or ch in "\x7f\\" for ch in target):
        return "/"
    if not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def username_lock(app: web.Application, username: str) -> asyncio.Lock:
    """The lock serialising login attempts for one username (forgotten when unused)."""
    locks = app[login_locks_key]
    lock = locks.get(username)
    if lock is None:
        lock = locks[username] = asyncio.Lock()
    return lock


def rules_of(settings: Settings) -> throttle.ThrottleRules:
    """The throttling rules configured for this deployment."""
    minutes = settings.login_lockout_minutes
    return throttle.ThrottleRules(
        pair=throttle.ThrottleRule(
            settings.login_delay_after, settings.login_lockout_after, minutes
        ),
        address=throttle.ThrottleRule(settings.login_address_delay_after, None, minutes),
        account=throttle.ThrottleRule(settings.login_account_delay_after, None, minutes),
    )


@routes.get("/login", name="login")
async def login_page(request: web.Request) -> web.StreamResponse:
    """The login form; a logged-in user goes straight to the start page."""
    if request.get(identity_key) is not None:
        raise web.HTTPSeeOther("/")
    next_path = safe_next(request.query.get("next", "/"))
    return render_login(request, status=200, next_path=next_path)


def render_login(
    request: web.Request,
    *,
    status: int,
    next_path: str = "/",
    error: str | None = None,
    username: str = "",
    organisations: list[tuple[str, str]] | None = None,
) -> web.Response:
    """Render the login form with an optional error, in the reader's language."""
    if error is not None:
        error = translated(error, translator(request, request_language(request)))
    context = {
        "error": error,
        "next": next_path,
        "username": username,
        "organisations": organisations or [],
    }
    return render(request, "login.html", context, status=status)


@routes.post("/login")
async def login_submit(request: web.Request) -> web.StreamResponse:
    """Check the password with throttling, open a session and set the cookie."""
    try:
        form = LoginForm.model_validate(dict(await request.post()))
    except ValidationError:
        return render_login(request, status=400, error=N_("Udfyld brugernavn og adgangskode."))
    settings = request.app[settings_key]
    # One attempt per username at a time in this process: parallel guesses cannot all be
    # checked before the failures that should have locked the username are counted.
    async with (
        username_lock(request.app, form.username),
        request.app[sessionmaker_key].begin() as session,
    ):
        try:
            staff = await _authenticate(session, request, form, settings)
        except TooManyRequests as exc:
            response = render_login(request, status=429, error=exc.message, username=form.username)
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        if staff is None:
            return render_login(
                request,
                status=401,
                error=N_("Forkert brugernavn eller adgangskode."),
                username=form.username,
            )
        if isinstance(staff, WhichOrganisation):
            return render_login(
                request,
                status=200,
                error=N_("Vælg din organisation, og skriv adgangskoden igen."),
                username=form.username,
                next_path=form.next,
                organisations=staff.choices,
            )
        token, _ = await open_session(
            session, staff, settings.session_hours, request.remote, settings.session_idle_minutes
        )
    response = redirect(safe_next(form.next))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Lax",
        secure=settings.secure_cookies,
        path="/",
        max_age=settings.session_hours * 3600,
    )
    return response


async def _authenticate(
    session: AsyncSession, request: web.Request, form: LoginForm, settings: Settings
) -> Staff | WhichOrganisation | None:
    rules = rules_of(settings)
    keys = throttle.ThrottleKeys(form.username, request.remote or "unknown")
    await throttle.check_allowed(session, keys, rules, utcnow())
    people = await _people_named(session, form)
    matches = [s for s in people if s.active and await _password_fits(s, form.password)]
    if not any(s.active for s in people):  # the same work as for a real person: no timing tell
        await verify_password_off_loop(DUMMY_PASSWORD_HASH, form.password)
    metrics = request.app[metrics_key]
    if not matches:
        await throttle.record_failure(session, keys, rules)
        named: list[Staff | None] = [*people] or [None]
        for staff in named:
            event = audit.record(
                session,
                "login.failed",
                actor=f"anonymous:{form.username}",
                request=request,
                subject=("staff", staff.id) if staff else None,
            )
            # Shown to the organisation's administrators when the username is theirs.
            event.organisation_id = staff.organisation_id if staff else None
        metrics.logins.labels("failed").inc()
        return None
    if len(matches) > 1:
        return WhichOrganisation(await _organisation_choices(session, matches))
    staff = matches[0]
    await throttle.clear(session, keys, rules)
    event = audit.record(
        session,
        "login",
        actor=f"staff:{staff.username}",
        subject=("staff", staff.id),
        request=request,
        detail={"organisation_id": staff.organisation_id},
    )
    event.organisation_id = staff.organisation_id
    metrics.logins.labels("ok").inc()
    return staff


async def _people_named(session: AsyncSession, form: LoginForm) -> list[Staff]:
    """Everyone with this username (in the organisation chosen, once one is)."""
    query = select(Staff).where(Staff.username == form.username).order_by(Staff.id)
    if form.organisation:
        query = query.join(Organisation, Organisation.id == Staff.organisation_id).where(
            Organisation.slug == form.organisation
        )
    return list(await session.scalars(query))


async def _password_fits(staff: Staff, password: str) -> bool:
    return await verify_password_off_loop(staff.password_hash, password)


async def _organisation_choices(
    session: AsyncSession, people: list[Staff]
) -> list[tuple[str, str]]:
    rows = await session.execute(
        select(Organisation.slug, Organisation.name)
        .where(Organisation.id.in_([s.organisation_id for s in people]))
        .order_by(Organisation.name)
    )
    return [(slug, name) for slug, name in rows]


@routes.post("/logout", name="logout")
async def logout(request: web.Request) -> web.StreamResponse:
    """End the session and clear the cookie."""
    identity = request.get(identity_key)
    if identity is not None:
        async with request.app[sessionmaker_key].begin() as session:
            await close_session(session, identity.session_id)
            audit.record(session, "logout", actor=identity, request=request)
        await request.app[hub_key].close_staff(identity.staff_id, session_id=identity.session_id)
    response = redirect("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response
