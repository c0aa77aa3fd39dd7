"""Middlewares and response hooks: errors at the edge, metrics, identity + CSRF, headers."""

from __future__ import annotations

import ipaddress
import logging
import time
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.typedefs import Handler

from .auth.csrf import check_csrf, csrf_token_for
from .auth.sessions import SESSION_COOKIE, SessionWindow, load_identity
from .db import DATABASE_BUSY
from .errors import AppError, NotAuthenticated, NotFound, PayloadTooLarge, Unavailable
from .i18n import request_language, translator
from .keys import identity_key, metrics_key, sessionmaker_key, settings_key
from .templating import render
from .translatable import N_, Msg

logger = logging.getLogger(__name__)

# Paths that never need to know who is asking: no database hit for them.
_ANONYMOUS_PREFIXES = ("/static/", "/kiosk/static/", "/healthz", "/readyz", "/metrics")

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; "
    "connect-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


_STATIC_PREFIXES = ("/static/", "/kiosk/static/")


def wants_json(request: web.Request) -> bool:
    """API clients get JSON errors; browsers asking for pages get an HTML page."""
    if request.path.startswith(("/api/", "/ws")):
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def _is_trusted(address: str | None, trusted: tuple[str, ...]) -> bool:
    """``address`` lies in one of the trusted proxies' addresses or networks (CIDR)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in ipaddress.ip_network(entry, strict=False) for entry in trusted)


@web.middleware
async def forwarded_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Behind a trusted reverse proxy, the client is the last address the proxy saw."""
    trusted = request.app[settings_key].trusted_proxies
    peer = request.remote
    if not trusted or peer is None or not _is_trusted(peer, trusted):
        return await handler(request)
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    client = next((h for h in reversed(hops) if not _is_trusted(h, trusted)), peer)
    proto = request.headers.get("X-Forwarded-Proto", request.scheme)
    scheme = proto if proto in {"http", "https"} else request.scheme
    return await handler(request.clone(remote=client, scheme=scheme))


def log_path(request: web.Request) -> str:
    """The request's path for a log line, a capability URL's token left out (/calendar/…,
    /r/…, /join/…: whoever reads the log must not be able to open them)."""
    token = request.match_info.get("token")
    return request.path.replace(token, "<token>") if token else request.path


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map every failure to a clear response with a stable code; count requests."""
    started = time.perf_counter()
    try:
        response = await handler(request)
    except AppError as exc:
        response = await error_response(request, exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = await error_response(request, from_http_exception(exc))
    except DATABASE_BUSY as exc:  # a full pool is a retryable 503, never a 500
        logger.warning("database busy on %s %s: %r", request.method, log_path(request), exc)
        response = await error_response(request, Unavailable())
    except Exception:
        logger.exception("unhandled error on %s %s", request.method, log_path(request))
        failure = AppError(N_("Der skete en fejl hos os. Prøv igen om lidt."))
        response = await error_response(request, failure)
        response.set_status(500)
    _observe(request, response.status, time.perf_counter() - started)
    return response


def from_http_exception(exc: web.HTTPException) -> AppError:
    """aiohttp's own errors (404, 405, 413, ...) in our error shape."""
    if exc.status == 413:
        return PayloadTooLarge()
    if exc.status == 404:
        return NotFound()
    message = N_("Det kan man ikke her.") if exc.status == 405 else None
    err = AppError(message)
    err.status = exc.status  # type: ignore[misc]  # instance override of the class default
    err.code = exc.reason.lower().replace(" ", "_")  # type: ignore[misc]
    return err


async def error_response(request: web.Request, exc: AppError) -> web.StreamResponse:
    """JSON ``{"error": ...}`` for API clients, a friendly page for people; either in the
    reader's language (the staff member's, else the browser's)."""
    retry = exc.status in (429, 503)
    headers = {"Retry-After": str(exc.details["retry_after"])} if retry else None
    gettext = translator(request, request_language(request))
    if wants_json(request):
        return web.json_response(exc.to_json(gettext), status=exc.status, headers=headers)
    if isinstance(exc, NotAuthenticated) and request.method == "GET":
        return redirect(f"/login?{urlencode({'next': request.path_qs})}")
    # Only a marked message can be said in the page's language; else the page's general one.
    message = exc.message.in_language(gettext) if isinstance(exc.message, Msg) else None
    context = {"error": exc, "status": exc.status, "message": message}
    response = render(request, "error.html", context, status=exc.status)
    if headers:
        response.headers.update(headers)
    return response


def redirect(location: str) -> web.Response:
    """A 303 See Other that can still carry cookies (returned, not raised)."""
    return web.Response(status=303, headers={"Location": location})


def _observe(request: web.Request, status: int, seconds: float) -> None:
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    metrics = request.app[metrics_key]
    metrics.requests.labels(request.method, route, str(status)).inc()
    metrics.request_seconds.labels(route).observe(seconds)


@web.middleware
async def identity_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Attach the logged-in staff identity, then enforce CSRF on state-changing requests."""
    if request.path.startswith(_ANONYMOUS_PREFIXES):
        return await handler(request)
    token = request.cookies.get(SESSION_COOKIE)
    # A request that names its own credentials (a tablet's bearer token) is judged by them
    # alone: the login cookie its browser may also hold lends it no staff rights, which is
    # what lets the CSRF check skip such requests.
    if token and not request.headers.get("Authorization", "").startswith("Bearer "):
        settings = request.app[settings_key]
        window = SessionWindow.of(settings.session_hours, settings.session_idle_minutes)
        async with request.app[sessionmaker_key]() as session:
            identity = await load_identity(session, token, window)
        if identity is not None:
            request[identity_key] = identity
    fresh_cookie = csrf_token_for(request)
    await check_csrf(request)
    response = await handler(request)
    if fresh_cookie is not None:
        fresh_cookie.apply(request, response)
    return response


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Headers every response carries, pages, API, static files and errors alike."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "camera=(self), microphone=(self), geolocation=()")
    if request.app[settings_key].secure_cookies:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if not request.path.startswith(_STATIC_PREFIXES):
        # Pages and API answers may hold health data: no browser or proxy may keep a copy.
        headers.setdefault("Cache-Control", "no-store")
