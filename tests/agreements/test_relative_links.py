"""Relatives' personal links on SQLite and PostgreSQL: made by staff who may write sheets, shown
once, opened without an account while the citizen's consent is in force; expired, revoked,
unknown and withdrawn each get a plain page and an audit event; wrong tokens are rate-limited;
a new version is e-mailed to a relative who consented to notices."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import email
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import Select, select, update

from server.app import create_app
from server.db import make_engine, make_sessionmaker
from server.demo import demo_relative_link_token
from server.models import AuditEvent, Notification, Relative, RelativeLink, utcnow
from server.notices.job import NoticeJob
from server.scheduling.notifier import make_notifier
from server.sealing import development_keyring
from server.security import token_hash
from server.settings import Settings
from tests.agreements.test_api import KAREN, POUL, post, sheet
from tests.conftest import Client, ClientFactory, login
from tests.console.conftest import csrf

IDA = "Ida Sørensen"  # Karen's demo relative: may see agreements and be notified


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Every test here runs on both backends."""
    return both_backends


async def run(settings: Settings, statement: Any) -> Any:
    """Execute one statement in its own transaction (to fast-forward time, read rows)."""
    engine = make_engine(settings.database_url, keyring=development_keyring())
    try:
        async with make_sessionmaker(engine).begin() as session:
            result = await session.execute(statement)
            return result.all() if isinstance(statement, Select) else None
    finally:
        await engine.dispose()


async def relative_id(settings: Settings, name: str) -> int:
    rows = await run(settings, select(Relative.id).where(Relative.name == name))
    return int(rows[0][0])


async def link_actions(settings: Settings) -> list[tuple[str, str | None]]:
    """Audited link actions with their reason, oldest first."""
    rows = await run(
        settings,
        select(AuditEvent.action, AuditEvent.detail)
        .where(AuditEvent.action.like("relative_link.%"))
        .order_by(AuditEvent.id),
    )
    return [(action, detail.get("reason")) for action, detail in rows]


async def make_link(client: Client, relative: int, citizen: int = KAREN) -> dict[str, Any]:
    status, link = await post(
        client, f"/api/citizens/{citizen}/relatives/{relative}/links", {"purpose": "agreements"}
    )
    assert status == 201, link
    return link


async def open_page(client: Client, url: str, **headers: str) -> tuple[int, str, Any]:
    path = "/" + url.split("/", 3)[3]
    client.session.cookie_jar.clear()  # the relative has no account
    response = await client.get(path, headers=headers)
    return response.status, await response.text(), response.headers


async def test_link_opens_the_current_sheet_until_revoked(client: Client, demo: Settings) -> None:
    """Anna makes Ida's link; Ida reads Karen's sheet (no-store, Danish, English); revoked: 410."""
    await login(client, "anna")
    ida = await relative_id(demo, IDA)
    link = await make_link(client, ida)
    assert re.fullmatch(r"http://localhost:8080/r/[A-Za-z0-9_-]{43}", link["url"])
    token = link["url"].rsplit("/", 1)[1]
    stored = {row[0] for row in await run(demo, select(RelativeLink.token_hash))}
    assert token_hash(token) in stored and token not in stored
    status, html, headers = await open_page(client, link["url"])
    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert "Aftaler med Karen" in html and "Du tager selv din medicin kl. 8" in html
    assert "Karens egne ord" in html and "Sønnen vil gerne have besked" in html
    _, english, _ = await open_page(client, link["url"], **{"Accept-Language": "en-GB,en;q=0.9"})
    assert 'lang="en"' in english and "Dansk" in english
    await login(client, "anna")
    response = await client.delete(
        f"/api/citizens/{KAREN}/relatives/{ida}/links/{link['id']}", headers=await csrf(client)
    )
    assert response.status == 200 and (await response.json())["url"] is None
    status, html, _ = await open_page(client, link["url"])
    assert status == 410 and "Linket er lukket" in html and "medicin" not in html
    assert await link_actions(demo) == [
        ("relative_link.create", None),
        ("relative_link.open", "open"),
        ("relative_link.open", "open"),
        ("relative_link.revoke", None),
        ("relative_link.refused", "revoked"),
    ]


async def test_the_demo_prints_a_working_link_for_karens_daughter(
    client: Client, demo: Settings
) -> None:
    """`make run` prints Ida's link; it opens Karen's sheet with the follow-up date."""
    status, html, _ = await open_page(client, f"http://x/r/{demo_relative_link_token(demo)}")
    assert status == 200 and "Aftaler med Karen" in html and "Næste opfølgning" in html


async def test_expired_link_and_withdrawn_consent_are_refused_plainly(
    client: Client, demo: Settings
) -> None:
    """Consent withdrawn after the link was made: 403 and nothing shown; expired: 410."""
    await login(client, "vera")
    ida = await relative_id(demo, IDA)
    first, second = await make_link(client, ida), await make_link(client, ida)
    await run(
        demo,
        update(RelativeLink)
        .where(RelativeLink.id == first["id"])
        .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)),
    )
    status, html, _ = await open_page(client, first["url"])
    assert status == 410 and "Linket er udløbet" in html and "Karen" not in html
    await login(client, "vera")
    register = await (await client.get(f"/api/citizens/{KAREN}/consents")).json()
    (consent,) = [
        c
        for c in register["active"]
        if c["kind"] == "relative_agreements" and c["relative_id"] == ida
    ]
    withdrawn = {"withdrawn_by": {"kind": "citizen"}}
    assert (await post(client, f"/api/consents/{consent['id']}/withdraw", withdrawn))[0] == 200
    status, html, _ = await open_page(client, second["url"])
    assert status == 403 and "ikke givet lov" in html and "medicin" not in html
    await login(client, "vera")
    status, refused = await post(
        client, f"/api/citizens/{KAREN}/relatives/{ida}/links", {"purpose": "agreements"}
    )
    assert (status, refused["error"]["code"]) == (409, "relative_no_consent")
    reasons = [reason for action, reason in await link_actions(demo) if "refused" in action]
    assert reasons == ["expired", "no_consent"]


async def test_only_writers_of_the_citizens_sheets_make_links(
    client: Client, demo: Settings
) -> None:
    """A carer may not (403, audited); another team's nurse cannot see Karen (403); bad input."""
    ida = await relative_id(demo, IDA)
    path = f"/api/citizens/{KAREN}/relatives/{ida}/links"
    await login(client, "carla")
    status, reply = await post(client, path, {"purpose": "agreements"})
    assert (status, reply["error"]["code"]) == (403, "agreements_write_forbidden")
    client.session.cookie_jar.clear()
    await login(client, "bo")
    assert (await post(client, path, {"purpose": "agreements"}))[0] == 403
    client.session.cookie_jar.clear()
    await login(client, "anna")
    status, reply = await post(client, path, {"purpose": "call"})
    # Call links need the organisation's setting (tests/meetings/test_relative_call_links.py).
    assert (status, reply["error"]["code"]) == (409, "relative_calls_off")
    assert (await post(client, path, {"purpose": "photos"}))[0] == 400
    other = await relative_id(demo, "Mads Andersen")  # Poul's relative, not Karen's
    status, reply = await post(
        client, f"/api/citizens/{KAREN}/relatives/{other}/links", {"purpose": "agreements"}
    )
    assert (status, reply["error"]["code"]) == (404, "unknown_relative")
    assert [a for a, _ in await link_actions(demo)] == ["relative_link.write_denied"]


async def test_wrong_tokens_are_limited_per_address(client: Client, demo: Settings) -> None:
    """Ten unknown tokens from one address, then 429 even for a good link; each unknown audited."""
    await login(client, "anna")
    good = await make_link(client, await relative_id(demo, IDA))
    for n in range(10):
        status, html, _ = await open_page(client, f"http://x/r/{'A' * 42}{n}")
        assert status == 404 and "Linket findes ikke" in html
    status, html, _ = await open_page(client, good["url"])
    assert status == 429 and "For mange forsøg" in html and "medicin" not in html
    refused = [reason for action, reason in await link_actions(demo) if "refused" in action]
    assert refused == ["unknown"] * 10


@dataclasses.dataclass
class Inbox:
    """Messages a tiny SMTP server on loopback received."""

    port: int
    messages: list[email.message.Message]


@pytest.fixture
async def smtp() -> AsyncIterator[Inbox]:
    """The outer boundary: an SMTP server that accepts and keeps every message."""
    inbox = Inbox(0, [])

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 test\r\n")
        while line := await reader.readline():
            verb = line[:4].upper()
            if verb == b"DATA":
                writer.write(b"354 go\r\n")
                data = b""
                while (chunk := await reader.readline()) != b".\r\n":
                    data += chunk
                inbox.messages.append(email.message_from_bytes(data))
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                break
            writer.write(b"250 ok\r\n")
            await writer.drain()
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(session, "127.0.0.1", 0)
    inbox.port = server.sockets[0].getsockname()[1]
    try:
        yield inbox
    finally:
        server.close()
        await server.wait_closed()


async def deliver_mails(settings: Settings) -> int:
    """One run of the notice job's e-mail delivery (as the running app does every minute)."""
    engine = make_engine(settings.database_url, keyring=development_keyring())
    try:
        job = NoticeJob(settings, make_sessionmaker(engine), None, make_notifier(settings))
        return await job.deliver_mails(utcnow())
    finally:
        await engine.dispose()


async def test_a_new_version_is_mailed_to_a_relative_who_consented_to_notices(
    aiohttp_client: ClientFactory, demo: Settings, smtp: Inbox
) -> None:
    """Ida (agreements and notices, with an e-mail) gets a working link; Poul's Mads does not."""
    settings = dataclasses.replace(
        demo, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_starttls=False
    )
    client = await aiohttp_client(create_app(settings))
    ida = await relative_id(demo, IDA)
    await run(demo, update(Relative).values(email="ida@example.org"))
    await login(client, "vera")
    listing = await (await client.get(f"/api/citizens/{KAREN}/agreements")).json()
    sheet_id = listing["sheets"][0]["id"]
    body = sheet(participants=["Karen Sørensen", "Vera Visitator"])
    assert (await post(client, f"/api/agreements/{sheet_id}/edit", body))[0] == 200
    assert (await post(client, f"/api/citizens/{POUL}/agreements", sheet()))[0] == 201
    assert smtp.messages == []  # not inside the request: the notice job sends it
    assert await deliver_mails(settings) == 1
    (message,) = smtp.messages  # Mads may see agreements but did not consent to notices
    assert message["To"] == "ida@example.org"
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    text = payload.decode()
    url = re.search(r"http://localhost:8080/r/\S+", text)
    assert url, text
    status, html, _ = await open_page(client, url.group(0))
    assert status == 200 and "Udgave 2." in html and "Vi ringer tirsdag og fredag" in html
    outbox = select(Notification.relative_id, Notification.body, Notification.sent_at)
    rows = await run(demo, outbox)
    assert len(rows) == 1 and rows[0][0] == ida and rows[0][2] is not None
    assert "/r/" not in rows[0][1]  # the token is never stored
    assert ("relative_link.mailed", None) in await link_actions(demo)
