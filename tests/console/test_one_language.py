"""One language at a time: a page (or an API error) in Danish carries no English, and in English
no Danish, as far as the catalogue knows the two.

"Known strings" come from the English catalogue: every entry whose translation differs from its
Danish msgid. A Danish page must not contain an English translation, an English page not a
Danish msgid. Phrases of two or more words are matched case-insensitively as whole words;
single words only when they are distinctive (long, and no word of the other language).
Visible text only: scripts, styles, attribute values and elements that declare another language
(the "English"/"Dansk" switch) are left out, and so are the demo's data (names, free text).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.extract import extract_from_dir
from sqlalchemy import select

from server.i18n import LOCALE_DIR, read_catalogue
from server.models import AgreementSheet, Citizen, Relative, Staff, Team, VisitType
from server.settings import Settings
from tests.conftest import Client, login
from tests.console.conftest import csrf
from tests.databases import transaction

SERVER = Path(__file__).resolve().parents[2] / "server"
PLACEHOLDER = re.compile(r"%\([^)]*\)[sd]|%[sd]|\{[^}]*\}")
WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
DISTINCTIVE_LENGTH = 7  # single words shorter than this are too often shared ("Status", "Team")


@dataclass(frozen=True, slots=True)
class Known:
    """The strings that betray each language."""

    danish: tuple[str, ...]  # msgids with a different English translation, or none yet
    english: tuple[str, ...]  # those translations


def _fragments(text: str) -> list[str]:
    """The literal parts of a catalogue string, split at its placeholders."""
    return [" ".join(part.split()) for part in PLACEHOLDER.split(text) if part.strip()]


def _telling(fragments: Iterable[str], other_words: set[str]) -> list[str]:
    """Fragments that can only be the one language: two words or more, or a distinctive word."""
    found = []
    for fragment in fragments:
        words = WORD.findall(fragment)
        if len(words) >= 2:
            found.append(fragment)
        elif (
            len(words) == 1
            and len(words[0]) >= DISTINCTIVE_LENGTH
            and words[0].lower() not in other_words
        ):
            found.append(words[0])
    return found


@cache
def known_strings() -> Known:
    """Danish msgids and their different English translations, from the English catalogue."""
    from babel.messages.pofile import read_po

    with (LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    pairs: list[tuple[str, str]] = []
    untranslated: list[str] = []
    for message in catalog:
        ids = message.id if isinstance(message.id, (tuple, list)) else (message.id,)
        strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        if not ids[0] or message.fuzzy:
            continue
        for msgid, msgstr in zip(ids, strings, strict=False):
            if msgstr and msgstr.strip() != msgid.strip():
                pairs.append((msgid, msgstr))
            elif not msgstr:  # not translated yet: it shows in Danish on an English page
                untranslated += [f for f in _fragments(msgid) if len(WORD.findall(f)) >= 2]
    danish_words = {w.lower() for msgid, _ in pairs for w in WORD.findall(msgid)}
    english_words = {w.lower() for _, msgstr in pairs for w in WORD.findall(msgstr)}
    danish = {f for msgid, _ in pairs for f in _telling(_fragments(msgid), english_words)}
    danish |= set(untranslated)
    english = {f for _, msgstr in pairs for f in _telling(_fragments(msgstr), danish_words)}
    shared = danish & english  # the same text in both ("Administration · Status")
    return Known(tuple(sorted(danish - shared)), tuple(sorted(english - shared)))


class _VisibleText(HTMLParser):
    """The text a reader sees in ``language``; scripts, styles and other-language parts out."""

    SKIP = frozenset({"script", "style", "template", "noscript"})
    VOID = frozenset(
        {
            "area",
            "base",
            "br",
            "col",
            "embed",
            "hr",
            "img",
            "input",
            "link",
            "meta",
            "source",
            "wbr",
        }
    )

    def __init__(self, language: str) -> None:
        super().__init__(convert_charrefs=True)
        self.language = language
        self.stack: list[bool] = []  # per open element: is its content hidden from the check?
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        lang = dict(attrs).get("lang")
        other = lang is not None and lang.split("-")[0] != self.language
        hidden = bool(self.stack and self.stack[-1]) or tag in self.SKIP or other
        if not hidden:  # texts in attributes are read too: labels, and the scripts' sentences
            self.parts += [value for name, value in attrs if value and _shown(name, value)]
        if tag not in self.VOID:
            self.stack.append(hidden)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def _shown(attribute: str, value: str) -> bool:
    """An attribute a reader sees (a label, a tooltip) or a sentence a script will show."""
    if attribute in {"title", "alt", "placeholder", "aria-label", "value"}:
        return attribute != "value" or " " in value
    return attribute.startswith("data-") and " " in value.strip()


def visible_text(html: str, language: str, data: Iterable[str] = ()) -> str:
    """The page's visible text on one line, with the demo's data strings blanked out."""
    parser = _VisibleText(language)
    parser.feed(html)
    text = " ¦ ".join(" ".join(part.split()) for part in parser.parts if part.strip())
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, " ¦ ")
    return text


def other_language_in(text: str, language: str) -> list[str]:
    """The known strings of the other language that ``text`` contains (as whole words), each
    with a little of the text around it."""
    known = known_strings()
    foreign = known.english if language == "da" else known.danish
    found = []
    for phrase in foreign:
        flags = re.IGNORECASE if " " in phrase else 0
        match = re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text, flags)
        if match:
            found.append(f"{phrase!r} in …{text[max(0, match.start() - 40) : match.end() + 40]}…")
    return found


async def demo_data(db_url: str) -> set[str]:
    """Names and free text of the demo: shown as they are, in whatever language they were typed."""
    async with transaction(db_url) as session:
        values: set[str] = set()
        for citizen in await session.scalars(select(Citizen)):
            texts: tuple[str | None, ...] = (citizen.name, citizen.preferred_name)
            values |= {text or "" for text in (*texts, citizen.special_approach, citizen.wishes)}
        for relative in await session.scalars(select(Relative)):
            values |= {relative.name, relative.relation}
        for sheet in await session.scalars(select(AgreementSheet)):
            texts = (
                sheet.topics, sheet.citizen_says, sheet.relatives_say, sheet.citizen_does,
                sheet.municipality_does,
            )  # fmt: skip
            values |= {text or "" for text in texts}
        values |= set(await session.scalars(select(Staff.display_name)))
        values |= set(await session.scalars(select(Team.name)))
        for vtype in await session.scalars(select(VisitType)):
            values |= {vtype.name_da, vtype.name_en}
    return {v for v in values if v}


async def _ids(db_url: str) -> tuple[int, int]:
    """Karen's citizen id and the id of her first plan's visit type (for the call view)."""
    async with transaction(db_url) as session:
        karen = await session.scalar(select(Citizen).where(Citizen.preferred_name == "Karen"))
        assert karen is not None
        return karen.id, karen.team_id


STAFF_PAGES = (
    "/",
    "/citizens",
    "/citizens/{karen}",
    "/citizens/{karen}/plans",
    "/call/{karen}",
    "/planning",
    "/imports",
    "/figures",
    "/citizens/999999",  # 404 for a logged-in reader
)
ADMIN_PAGES = ("/admin", "/admin/audit")


async def _pages(client: Client, paths: Iterable[str], karen: int) -> dict[str, tuple[int, str]]:
    pages = {}
    for path in paths:
        response = await client.get(path.format(karen=karen))
        pages[path] = (response.status, await response.text())
    return pages


async def _language(client: Client, language: str) -> None:
    reply = await client.post(
        "/api/me/language", json={"language": language}, headers=await csrf(client)
    )
    assert reply.status == 200, await reply.text()


async def test_one_language_staff_pages(
    client: Client, demo: Settings, visits: dict[str, int]
) -> None:
    """Every staff page, 403 and 404 included, is wholly Danish, then wholly English."""
    karen, _ = await _ids(demo.database_url)
    data = await demo_data(demo.database_url)
    mixed: dict[str, list[str]] = {}
    for language in ("da", "en"):
        for username, paths in (
            ("vera", STAFF_PAGES),
            ("admin", ADMIN_PAGES),
            ("carla", ("/admin",)),
        ):
            client.session.cookie_jar.clear()
            assert await login(client, username) == 303
            await _language(client, language)
            for path, (status, html) in (await _pages(client, paths, karen)).items():
                assert status in {200, 403, 404}, (username, path, status)
                assert f'<html lang="{language}"' in html, (username, path)
                found = other_language_in(visible_text(html, language, data), language)
                if found:
                    mixed[f"{language} {username} {path} ({status})"] = found
    assert not mixed, mixed


async def test_one_language_anonymous_pages_follow_the_browser(client: Client) -> None:
    """Nobody logged in: the login page and error pages speak the browser's language."""
    mixed: dict[str, list[str]] = {}
    for language, header in (("da", "da,en;q=0.5"), ("en", "en-GB,da;q=0.5")):
        for path in ("/login", "/no-such-page"):
            response = await client.get(path, headers={"Accept-Language": header})
            html = await response.text()
            assert f'<html lang="{language}"' in html, (path, language)
            found = other_language_in(visible_text(html, language), language)
            if found:
                mixed[f"{language} {path} ({response.status})"] = found
    assert not mixed, mixed


async def test_one_language_api_errors(client: Client, demo: Settings) -> None:
    """An API error keeps its code and says its message in the reader's language."""
    assert await login(client, "anna") == 303
    danish = await (await client.get("/api/citizens/999999")).json()
    assert danish["error"]["code"] == "not_found"
    assert danish["error"]["message"] == "Borgeren findes ikke."
    await _language(client, "en")
    english = await (await client.get("/api/citizens/999999")).json()
    assert english["error"]["code"] == "not_found"
    message = english["error"]["message"]
    assert message != "Borgeren findes ikke." and not other_language_in(message, "en"), message
    forbidden = await (await client.get("/api/admin/staff")).json()
    assert forbidden["error"]["code"] == "forbidden"
    assert "rolle" not in forbidden["error"]["message"], forbidden
    client.session.cookie_jar.clear()
    anonymous = {"Accept-Language": "en", "Accept": "application/json"}
    refused = await (await client.get("/api/me", headers=anonymous)).json()
    assert refused["error"]["code"] == "not_authenticated"
    assert refused["error"]["message"] != "Log ind for at fortsætte.", refused


def test_one_language_known_strings_are_found() -> None:
    """The check itself: it finds a known phrase of the other language, not one's own."""
    known = known_strings()
    assert known.english and known.danish
    english_phrase = next(p for p in known.english if " " in p)
    page = f"<html lang='da'><body><p>Goddag. {english_phrase}.</p></body></html>"
    assert other_language_in(visible_text(page, "da"), "da")[0].startswith(repr(english_phrase))
    switch = "<p>Hej <button lang='en'>English</button> <script>var x = 'Log out';</script></p>"
    assert visible_text(switch, "da") == "Hej"


def test_one_language_every_server_message_has_english() -> None:
    """Every message the server marks with N_ is in the English catalogue (the lead's
    scripts/extract-messages collects them with ``-k N_`` beside the templates' strings)."""
    found = extract_from_dir(str(SERVER), method_map=[("**.py", "python")], keywords={"N_": None})
    marked = {message for _, _, message, _, _ in found if isinstance(message, str)}
    assert len(marked) > 100  # the extraction works: errors, plan problems, refusals
    english = read_catalogue(LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po")
    missing = sorted(m for m in marked if m not in english.messages)
    assert not missing, missing
