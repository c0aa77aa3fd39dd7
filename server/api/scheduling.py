"""The scheduling JSON API tables, gathered so `app.py` needs one line for all of them."""

from __future__ import annotations

from .calendar import api as calendar_api
from .daylist import api as daylist_api
from .figures import api as figures_api
from .imports import api as imports_api
from .plans import api as plans_api
from .spec import ApiRoutes

TABLES: tuple[ApiRoutes, ...] = (
    calendar_api,
    daylist_api,
    imports_api,
    plans_api,
    figures_api,
)
