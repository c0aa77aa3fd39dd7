"""Helpers for relatives' call links: the organisation's setting, Ida's call consent, a link."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from server.db import make_engine, make_sessionmaker
from server.models import Relative
from server.sealing import development_keyring
from server.settings import Settings
from tests.conftest import Client, login
from tests.console.conftest import csrf

KAREN = 1  # demo citizen 1 (Team Nord: anna); her relative is her daughter Ida
IDA = "Ida Sørensen"


async def post(client: Client, path: str, body: object) -> tuple[int, dict[str, Any]]:
    """POST JSON with the logged-in client's CSRF header."""
    response = await client.post(path, json=body, headers=await csrf(client))
    return response.status, await response.json()


async def ida(settings: Settings) -> int:
    """Ida's relative id."""
    engine = make_engine(settings.database_url, keyring=development_keyring())
    try:
        async with make_sessionmaker(engine)() as session:
            found = await session.scalar(select(Relative.id).where(Relative.name == IDA))
            assert found is not None
            return found
    finally:
        await engine.dispose()


async def allow_calls(client: Client, on: bool = True) -> None:
    """The administrator turns ``relatives_may_call`` on (or off); the other settings stay."""
    assert await login(client, "admin") == 303
    current = await (await client.get("/api/admin/settings")).json()
    status, saved = await post(client, "/api/admin/settings", {**current, "relatives_may_call": on})
    assert status == 200 and saved["relatives_may_call"] is on, saved


async def call_consent(client: Client, relative: int, given: bool = True) -> None:
    """Anna records (or withdraws) Karen's consent that Ida may ring her tablet."""
    assert await login(client, "anna") == 303
    body = {"permissions": {"call": given}, "given_by": {"kind": "citizen"}}
    status, out = await post(client, f"/api/relatives/{relative}/permissions", body)
    assert status == 200 and out["permissions"]["call"] is given, out


async def make_call_link(client: Client, relative: int) -> tuple[int, dict[str, Any]]:
    """Anna asks for Ida's call link: the status and the answer."""
    assert await login(client, "anna") == 303
    path = f"/api/citizens/{KAREN}/relatives/{relative}/links"
    return await post(client, path, {"purpose": "call"})


async def call_token(client: Client, settings: Settings) -> str:
    """Everything on, and Ida's call link's token."""
    relative = await ida(settings)
    await allow_calls(client)
    await call_consent(client, relative)
    status, link = await make_call_link(client, relative)
    assert status == 201, link
    return str(link["url"]).rsplit("/", 1)[1]
