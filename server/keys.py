"""Every application and request value, each under a typed key."""

from __future__ import annotations

import asyncio
import gettext
import weakref
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from .auth.identity import StaffIdentity
from .metrics import Metrics
from .settings import Settings

if TYPE_CHECKING:  # the hub imports modules that import these keys
    from .signaling.hub import Hub

settings_key = web.AppKey("settings_key", Settings)
engine_key = web.AppKey("engine_key", AsyncEngine)
sessionmaker_key = web.AppKey("sessionmaker_key", async_sessionmaker[AsyncSession])
metrics_registry_key = web.AppKey("metrics_registry_key", CollectorRegistry)
metrics_key = web.AppKey("metrics_key", Metrics)
hub_key: web.AppKey[Hub] = web.AppKey("hub_key")
websockets_key = web.AppKey("websockets_key", weakref.WeakSet[web.WebSocketResponse])
catalogues_key = web.AppKey("catalogues_key", dict[str, gettext.NullTranslations])

login_locks_key = web.AppKey("login_locks_key", weakref.WeakValueDictionary[str, asyncio.Lock])

identity_key = web.RequestKey("identity_key", StaffIdentity)
csrf_token_key = web.RequestKey("csrf_token_key", str)
