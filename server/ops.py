"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import ipaddress
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from .errors import NotFound
from .keys import engine_key, metrics_key, metrics_registry_key, settings_key, websockets_key
from .security import tokens_equal

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """The process is up and serving."""
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """Ready to take traffic: the database (and Redis, when configured) answer."""
    checks = {"database": await _database_ok(request.app)}
    redis_url = request.app[settings_key].redis_url
    if redis_url:
        checks["redis"] = await _redis_ok(redis_url)
    ready = all(checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    return web.json_response(body, status=200 if ready else 503)


async def _database_ok(app: web.Application) -> bool:
    try:
        async with app[engine_key].connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:  # any driver error means "not ready"; the reason goes to the log
        logger.warning("readiness: database check failed", exc_info=True)
        return False
    return True


async def _redis_ok(url: str) -> bool:
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_timeout=2)
    try:
        return bool(await client.ping())
    except Exception:  # unreachable Redis is "not ready", never a 500
        logger.warning("readiness: redis check failed", exc_info=True)
        return False
    finally:
        await client.aclose()


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition of this process's metrics (for this machine or a token)."""
    if not metrics_allowed(request):
        raise NotFound()  # say nothing of what is here
    sockets = request.app[websockets_key]
    request.app[metrics_key].websockets.set(len(sockets))
    body = generate_latest(request.app[metrics_registry_key])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def metrics_allowed(request: web.Request) -> bool:
    """A scraper with the configured token, or (without one) a client on this machine."""
    token = request.app[settings_key].metrics_token
    if token is not None:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return tokens_equal(sent, token)
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False
