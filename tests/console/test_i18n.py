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
