"""Staff UI languages: Danish (the source language of every string) and English.

Templates use jinja2's i18n extension (``{% trans %}``, ``_()``); the msgids are Danish, so a
string nobody translated yet still shows in plain Danish. The English catalogue is the
gettext ``.po`` file under ``server/locale/``, read with Babel when the app starts, so a fresh
clone needs no compile step.
"""

from __future__ import annotations

import gettext
from pathlib import Path

import aiohttp_jinja2
from aiohttp import web
from babel.messages.pofile import read_po

from .keys import catalogues_key

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


def gettext_for(request: web.Request, language: str) -> dict[str, object]:
    """Template context entries that make ``_()`` and ``{% trans %}`` speak ``language``."""
    catalogues = request.app.get(catalogues_key, {})
    translations = catalogues.get(language) or gettext.NullTranslations()
    return {"gettext": translations.gettext, "ngettext": translations.ngettext}
