"""Danish by default, English from the gettext catalogue; every template string translated."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from server.i18n import LOCALE_DIR, read_catalogue
from server.settings import Settings
from tests.conftest import Client, login
from tests.console.conftest import csrf

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"


def template_msgids() -> set[str]:
    """Every string marked for translation in the templates (Danish msgids)."""
    found = extract_from_dir(str(TEMPLATES), method_map=[("**.html", "jinja2")])
    return {msg for _, _, msg, _, _ in found if isinstance(msg, str)}


def test_i18n_every_template_string_has_english() -> None:
    """The English catalogue covers every marked string (run scripts/extract-messages)."""
    english = read_catalogue(LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po")
    missing = sorted(m for m in template_msgids() if m not in english.messages)
    assert not missing, missing


async def test_i18n_page_follows_staff_language(client: Client, demo: Settings) -> None:
    """The list is Danish by default and English after the nurse switches language."""
    await login(client, "anna")
    assert "Goddag, Anna Jensen" in await (await client.get("/")).text()
    response = await client.post(
        "/api/me/language", json={"language": "en"}, headers=await csrf(client)
    )
    assert response.status == 200
    page = await (await client.get("/")).text()
    assert "Good day, Anna Jensen" in page and 'lang="en"' in page


async def test_i18n_login_page_follows_the_browser(client: Client) -> None:
    """Nobody logged in yet: the login page speaks the browser's language (Accept-Language)."""
    english = await (
        await client.get("/login", headers={"Accept-Language": "en-GB,da;q=0.5"})
    ).text()
    danish = await (await client.get("/login", headers={"Accept-Language": "da,en;q=0.8"})).text()
    other = await (await client.get("/login", headers={"Accept-Language": "fr, de;q=0.9"})).text()
    assert 'lang="en"' in english and 'lang="da"' in danish and 'lang="da"' in other


def test_i18n_browser_language_reads_q_values() -> None:
    """The best-ranked of our languages wins; junk and q=0 are ignored."""
    from server.i18n import browser_language

    cases = {
        "": "da",
        "en": "en",
        "da;q=0.4, en;q=0.9": "en",
        "en;q=0, da": "da",
        "en-US;q=bad, da-DK": "da",
        "sv, nb;q=0.9, en;q=0.3": "en",
        ",,;;q=": "da",
    }
    for header, expected in cases.items():
        assert browser_language(header) == expected, header


async def test_i18n_error_page_and_role_in_one_language(client: Client, demo: Settings) -> None:
    """A Danish 404 page and top bar carry no English; in English no Danish role name."""
    await login(client, "anna")
    danish = await (await client.get("/citizens/999999")).text()
    assert "Siden findes ikke" in danish and "Sygeplejerske" in danish
    assert "Not found" not in danish and "No such" not in danish
    await client.post("/api/me/language", json={"language": "en"}, headers=await csrf(client))
    english = await (await client.get("/citizens/999999")).text()
    assert "Page not found" in english and "Nurse" in english
    assert "Sygeplejerske" not in english and "Siden findes ikke" not in english
