"""Staff UI languages: Danish (the source language of every string) and English.

Templates use jinja2's i18n extension (``{% trans %}``, ``_()``); the msgids are Danish, so a
string nobody translated yet still shows in plain Danish. The English catalogue is the
gettext ``.po`` file under ``server/locale/``, read with Babel when the app starts, so a fresh
clone needs no compile step.
"""

from __future__ import annotations

import datetime as dt
import gettext
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import aiohttp_jinja2
import jinja2
from aiohttp import web
from babel.dates import format_skeleton, get_day_names
from babel.messages.pofile import read_po

from .keys import catalogues_key, identity_key, settings_key
from .translatable import N_, Msg, translated

__all__ = ["N_", "Msg", "translated"]  # marked texts live in .translatable (no app imports)

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
LANGUAGES = ("da", "en")
DEFAULT_LANGUAGE = "da"


class Catalogue(gettext.NullTranslations):
    """One language's translations, built from a ``.po`` file."""

    def __init__(self, messages: dict[str, str], plurals: dict[str, tuple[str, ...]]) -> None:
        super().__init__()
        self.messages = messages
        self.plurals = plurals

    def gettext(self, message: str) -> str:
        return self.messages.get(message) or message

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        forms = self.plurals.get(msgid1)
        if forms and all(forms):
            return forms[0] if n == 1 else forms[-1]
        return msgid1 if n == 1 else msgid2


def read_catalogue(path: Path) -> Catalogue:
    """Parse one ``.po`` file (fuzzy entries are left out, as msgfmt does)."""
    with path.open("rb") as handle:
        catalog = read_po(handle)
    messages: dict[str, str] = {}
    plurals: dict[str, tuple[str, ...]] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, (tuple, list)) and isinstance(message.string, (tuple, list)):
            plurals[message.id[0]] = tuple(message.string)
        elif isinstance(message.id, str) and isinstance(message.string, str) and message.string:
            messages[message.id] = message.string
    return Catalogue(messages, plurals)


def load_catalogues(locale_dir: Path = LOCALE_DIR) -> dict[str, gettext.NullTranslations]:
    """Every language we offer; Danish needs no catalogue."""
    catalogues: dict[str, gettext.NullTranslations] = {DEFAULT_LANGUAGE: gettext.NullTranslations()}
    for language in LANGUAGES:
        po = locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        if language != DEFAULT_LANGUAGE and po.exists():
            catalogues[language] = read_catalogue(po)
    return catalogues


def setup(app: web.Application, catalogues: dict[str, gettext.NullTranslations]) -> None:
    """Enable ``{% trans %}`` in templates; the callables come per request (see ``gettext_for``)."""
    env = aiohttp_jinja2.get_env(app)
    env.add_extension("jinja2.ext.i18n")
    env.install_null_translations(newstyle=False)  # type: ignore[attr-defined]
    env.globals["LANGUAGES"] = LANGUAGES
    env.globals["day_names"] = day_names
    env.filters["date_words"] = date_words
    if settings_key in app:  # base.html tells the console's scripts the organisation's zone
        env.globals["TIME_ZONE"] = app[settings_key].timezone
    app[catalogues_key] = catalogues


def language_of(request: web.Request, preferred: str | None) -> str:
    """The staff member's language, else ``?lang=``, else the browser's (``Accept-Language``),
    else Danish."""
    for candidate in (preferred, request.query.get("lang")):
        if candidate in LANGUAGES:
            return candidate
    return browser_language(request.headers.get("Accept-Language", ""))


def browser_language(header: str) -> str:
    """The first of our languages in an ``Accept-Language`` header, by its q-values."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):  # bounded: the header is untrusted
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        base = tag.strip().lower().split("-")[0]
        if base in LANGUAGES and quality > 0:
            ranked.append((-quality, index, base))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


def request_language(request: web.Request) -> str:
    """The language of this request's reader: the staff member's choice, else the browser's."""
    identity = request.get(identity_key)
    return language_of(request, identity.language if identity is not None else None)


def translator(request: web.Request, language: str) -> Callable[[str], str]:
    """The ``gettext`` function of ``language``'s catalogue."""
    catalogues = request.app.get(catalogues_key, {})
    return (catalogues.get(language) or gettext.NullTranslations()).gettext


def reader_gettext(request: web.Request) -> Callable[[str], str]:
    """The ``gettext`` of this request's reader (see ``request_language``)."""
    return translator(request, request_language(request))


def gettext_for(request: web.Request, language: str) -> dict[str, object]:
    """Template context entries that make ``_()`` and ``{% trans %}`` speak ``language``."""
    catalogues = request.app.get(catalogues_key, {})
    translations = catalogues.get(language) or gettext.NullTranslations()
    return {"gettext": translations.gettext, "ngettext": translations.ngettext}


@jinja2.pass_context
def day_names(
    context: jinja2.runtime.Context,
    width: Literal["abbreviated", "narrow", "short", "wide"] = "wide",
) -> list[str]:
    """Monday to Sunday in the page's language, from Babel's locale data ("abbreviated": "man.")."""
    names = get_day_names(width, locale=context.get("lang", DEFAULT_LANGUAGE))
    return [names[day] for day in range(7)]


@jinja2.pass_context
def date_words(
    context: jinja2.runtime.Context, value: dt.date | None, skeleton: str = "yMMMMEEEEd"
) -> str:
    """A date in words in the page's language ("tirsdag den 1. december 2026"), by a CLDR
    skeleton; an aware date-time should already be in the organisation's zone."""
    if value is None:
        return "—"
    return format_skeleton(skeleton, value, locale=context.get("lang", DEFAULT_LANGUAGE))
