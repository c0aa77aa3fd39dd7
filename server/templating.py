"""Rendering pages: every template also gets the identity, the CSRF token and the language.

aiohttp-jinja2's own context processors store their data under a plain string request key,
which aiohttp warns about; merging the shared values here avoids that.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from .i18n import gettext_for, language_of
from .keys import csrf_token_key, identity_key

# The Danish names are msgids: web/templates/_labels.html lists them for the catalogue.
ROLE_LABELS_DA = {
    "nurse": "Sygeplejerske",
    "carer": "Social- og sundhedshjælper",
    "visitator": "Visitator",
    "planner": "Planlægger",
    "admin": "Administrator",
}


def shared_context(request: web.Request) -> dict[str, Any]:
    """Values available in every template."""
    identity = request.get(identity_key)
    lang = language_of(request, identity.language if identity is not None else None)
    translations = gettext_for(request, lang)
    translate = translations["gettext"]
    assert callable(translate)
    return {
        "me": identity,
        "csrf_token": request.get(csrf_token_key, ""),
        "lang": lang,
        "role_labels": {role: translate(name) for role, name in ROLE_LABELS_DA.items()},
        **translations,
    }


def render(
    request: web.Request, template: str, context: Mapping[str, Any], *, status: int = 200
) -> web.Response:
    """Render ``template`` with the shared values plus ``context``."""
    merged = {**shared_context(request), **context}
    return aiohttp_jinja2.render_template(template, request, merged, status=status)
