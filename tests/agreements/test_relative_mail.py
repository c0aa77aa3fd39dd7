"""A new agreements version e-mailed to a relative through the outbox (SQLite and PostgreSQL):
queued with the save, sent by the notice job in the citizen's language, retried when the mail
server fails (which never fails the save), and the link's token never stored."""

from __future__ import annotations

import dataclasses
import email.message
import re
import socket

import pytest
from sqlalchemy import select, update

from server.app import create_app
from server.models import AuditEvent, Citizen, Notification, Relative, RelativeLink
from server.security import token_hash
from server.settings import Settings
from tests.agreements.test_api import KAREN, post, sheet
from tests.agreements.test_relative_links import (
    Inbox,
    deliver_mails,
    open_page,
    run,
    smtp,  # noqa: F401, F811 (the fixture)
)
from tests.conftest import Client, ClientFactory, login


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Every test here runs on both backends."""
    return both_backends


def mailing(settings: Settings, port: int) -> Settings:
    """The settings with the SMTP server on this loopback port."""
    return dataclasses.replace(settings, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False)


def closed_port() -> int:
    """A loopback port nobody listens on: a mail server that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def new_version(client: Client) -> None:
    """Vera saves a new version of Karen's sheet (Ida, with an e-mail, is to hear of it)."""
    await login(client, "vera")
    listing = await (await client.get(f"/api/citizens/{KAREN}/agreements")).json()
    body = sheet(participants=["Karen Sørensen", "Vera Visitator"])
    path = f"/api/agreements/{listing['sheets'][0]['id']}/edit"
    assert (await post(client, path, body))[0] == 200


def text_of(message: email.message.Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def link_in(text: str) -> str:
    found = re.search(r"http://localhost:8080/r/\S+", text)
    assert found, text
    return found.group(0)


async def test_the_mail_is_in_the_citizens_language(
    aiohttp_client: ClientFactory,
    demo: Settings,
    smtp: Inbox,  # noqa: F811
) -> None:
    """Karen reads English: Ida's e-mail is English, subject and body, with a working link."""
    settings = mailing(demo, smtp.port)
    await run(demo, update(Relative).values(email="ida@example.org"))
    await run(demo, update(Citizen).where(Citizen.id == KAREN).values(language="en"))
    client = await aiohttp_client(create_app(settings))
    await new_version(client)
    assert await deliver_mails(settings) == 1
    (message,) = smtp.messages
    assert message["Subject"].startswith("New agreements sheet from the meeting on ")
    text = text_of(message)
    assert text.startswith("Dear Ida Sørensen") and "works for 30 days" in text, text
    assert "Kære" not in text
    status, _, _ = await open_page(client, link_in(text))
    assert status == 200


async def test_a_failing_mail_server_never_fails_the_save_and_is_tried_again(
    aiohttp_client: ClientFactory,
    demo: Settings,
    smtp: Inbox,  # noqa: F811
) -> None:
    """With the mail server down the save still answers 200 and the row waits; the failed
    attempt is counted, its link revoked; the next run, server up, delivers a working link."""
    down = mailing(demo, closed_port())
    await run(demo, update(Relative).values(email="ida@example.org"))
    client = await aiohttp_client(create_app(down))
    await new_version(client)
    outbox = select(Notification.attempts, Notification.sent_at, Notification.last_error)
    assert await run(demo, outbox) == [(0, None, None)]

    links = select(RelativeLink.id, RelativeLink.revoked_at)
    demo_links = {link_id for link_id, _ in await run(demo, links)}
    assert await deliver_mails(down) == 0
    ((attempts, sent_at, error),) = await run(demo, outbox)
    assert attempts == 1 and sent_at is None and error.startswith("ConnectionRefusedError")
    made = [revoked for link_id, revoked in await run(demo, links) if link_id not in demo_links]
    assert len(made) == 1 and made[0] is not None  # nobody has that link: closed

    assert await deliver_mails(mailing(demo, smtp.port)) == 1
    (message,) = smtp.messages
    ((attempts, sent_at, error),) = await run(demo, outbox)
    assert attempts == 2 and sent_at is not None and error is None
    status, html, _ = await open_page(client, link_in(text_of(message)))
    assert status == 200 and "Vi ringer tirsdag og fredag" in html
    assert await deliver_mails(mailing(demo, smtp.port)) == 0  # sent once


async def test_the_links_token_is_never_stored(
    aiohttp_client: ClientFactory,
    demo: Settings,
    smtp: Inbox,  # noqa: F811
) -> None:
    """Neither the outbox row nor the link row nor the audit log holds the token (only its
    hash); the row had no link before it was sent either."""
    settings = mailing(demo, smtp.port)
    await run(demo, update(Relative).values(email="ida@example.org"))
    client = await aiohttp_client(create_app(settings))
    await new_version(client)
    ((queued,),) = await run(demo, select(Notification.body))
    assert "/r/" not in queued
    assert await deliver_mails(settings) == 1
    token = link_in(text_of(smtp.messages[0])).rsplit("/", 1)[1]
    rows = await run(demo, select(Notification.subject, Notification.body))
    rows += await run(demo, select(RelativeLink.token_hash))
    rows += await run(demo, select(AuditEvent.action, AuditEvent.detail))
    stored = repr(rows)
    assert token not in stored and "/r/" not in stored
    assert token_hash(token) in stored
    assert "relative_link.mailed" in stored
