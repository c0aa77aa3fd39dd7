"""Every application and request value, each under a typed key.

Four keys live beside their owners instead, because this module would otherwise import modules
that import it: ``signaling.hub.hub_key`` (the hub's sockets),
``auth.devices.kiosk_tokens_key`` (tablets' tokens the handshake knows),
``media.selftest.selftest_key`` (the self-test peers) and
``scheduling.import_jobs.import_jobs_key`` (the running imports).
"""

from __future__ import annotations

import asyncio
import gettext
import weakref

from aiohttp import web
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from .identity import StaffIdentity
from .metrics import Metrics
from .ratelimit import FailureLimiter, Limiters
from .rooms.book import CallBook
from .settings import Settings
from .ttlcache import TtlCache
from .visits.updates import TeamFeed

settings_key = web.AppKey("settings_key", Settings)
engine_key = web.AppKey("engine_key", AsyncEngine)
sessionmaker_key = web.AppKey("sessionmaker_key", async_sessionmaker[AsyncSession])
metrics_registry_key = web.AppKey("metrics_registry_key", CollectorRegistry)
metrics_key = web.AppKey("metrics_key", Metrics)
book_key = web.AppKey("book_key", CallBook)
team_feed_key = web.AppKey("team_feed_key", TeamFeed)
websockets_key = web.AppKey("websockets_key", weakref.WeakSet[web.WebSocketResponse])
catalogues_key = web.AppKey("catalogues_key", dict[str, gettext.NullTranslations])
limiters_key = web.AppKey("limiters_key", Limiters)
enrolment_limiter_key = web.AppKey("enrolment_limiter_key", FailureLimiter)
relative_link_limiter_key = web.AppKey("relative_link_limiter_key", FailureLimiter)
# Staff photos the signalling handshake looked up a moment ago (a 1-tuple: None is a staff
# member without a photo, not a miss).
staff_photos_key = web.AppKey("staff_photos_key", TtlCache[int, tuple[str | None]])

login_locks_key = web.AppKey("login_locks_key", weakref.WeakValueDictionary[str, asyncio.Lock])

identity_key = web.RequestKey("identity_key", StaffIdentity)
csrf_token_key = web.RequestKey("csrf_token_key", str)
