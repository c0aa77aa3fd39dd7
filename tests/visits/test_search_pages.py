"""Citizen search (API and page), the citizen page's "Ring op", the menu per role, /planning."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import update

from server.app import create_app
from server.models import Consent, KioskDevice, utcnow
from server.settings import Settings
from tests.conftest import Client, ClientFactory, login
from tests.databases import transaction

KAREN, POUL, INGER = 1, 2, 3  # Karen and Inger: Team Nord; Poul: Team Syd


@pytest.fixture
async def server(aiohttp_server, demo: Settings) -> TestServer:  # type: ignore[no-untyped-def]
    """The real server with the demo organisation."""
    test_server: TestServer = await aiohttp_server(create_app(demo))
    return test_server


async def staff(aiohttp_client: ClientFactory, server: TestServer, username: str) -> Client:
    """A logged-in client with its own cookies."""
    client: Client = await aiohttp_client(server)
    assert await login(client, username) == 303
    return client


async def found(client: Client, query: str = "", **params: Any) -> list[dict[str, Any]]:
    """The citizens the search API returns."""
    response = await client.get("/api/citizens", params={"q": query, **params})
    assert response.status == 200, await response.text()
    citizens: list[dict[str, Any]] = (await response.json())["citizens"]
    return citizens


async def test_search_is_scoped_like_the_citizen_record(
    server: TestServer, aiohttp_client: ClientFactory
) -> None:
    """A Team Nord carer never finds Team Syd's citizens; a planner finds everyone."""
    carla = await staff(aiohttp_client, server, "carla")
    nord = await found(carla)
    assert nord and {c["team_name"] for c in nord} == {"Team Nord"}
    assert await found(carla, "Poul Andersen") == []
    pia = await staff(aiohttp_client, server, "pia")
    assert [c["id"] for c in await found(pia, "poul andersen")] == [POUL]
    assert len(await found(pia)) == 21  # 20 with demo tablets, and Gerda (SMS)


async def test_search_folds_case_and_danish_letters(
    server: TestServer, aiohttp_client: ClientFactory
) -> None:
    """Lower or upper case, Æ/Ø/Å included, by name or preferred name; with team and next visit."""
    vera = await staff(aiohttp_client, server, "vera")
    assert [c["name"] for c in await found(vera, "SØRENSEN")] == ["Karen Sørensen"]
    assert [c["name"] for c in await found(vera, "møller")] == ["Ruth Møller"]
    assert [c["name"] for c in await found(vera, "JØRGEN")] == ["Arne Jørgensen"]
    karen = (await found(vera, "karen"))[0]
    assert karen["team_name"] == "Team Nord" and karen["next_visit_at"] is not None
    assert len(await found(vera, "", limit=3)) == 3
    for bad in ({"limit": "0"}, {"limit": "501"}, {"q": "x" * 101}):
        response = await vera.get("/api/citizens", params=bad)
        assert (
            response.status == 400 and (await response.json())["error"]["code"] == "invalid_input"
        )


async def test_citizens_page_lists_hits_with_links(
    server: TestServer, aiohttp_client: ClientFactory
) -> None:
    """The page searches without JavaScript and links to the citizen page."""
    anna = await staff(aiohttp_client, server, "anna")
    page = await (await anna.get("/citizens", params={"q": "kar"})).text()
    assert f'href="/citizens/{KAREN}"' in page and "Team Nord" in page and "Næste besøg" in page
    empty = await (await anna.get("/citizens", params={"q": "Poul Andersen"})).text()
    assert "Ingen borgere fundet" in empty


async def test_ring_button_says_why_it_cannot_ring(
    demo: Settings, server: TestServer, aiohttp_client: ClientFactory
) -> None:
    """Ring op is a link when the tablet and consent are there; otherwise disabled with why."""
    anna = await staff(aiohttp_client, server, "anna")
    page = await (await anna.get(f"/citizens/{KAREN}")).text()
    assert f'id="ring-citizen" href="/call/{KAREN}"' in page
    async with transaction(demo.database_url) as session:
        await session.execute(
            update(Consent).where(Consent.citizen_id == KAREN).values(withdrawn_at=utcnow())
        )
        await session.execute(
            update(KioskDevice).where(KioskDevice.citizen_id == INGER).values(revoked_at=utcnow())
        )
    karen = await (await anna.get(f"/citizens/{KAREN}")).text()
    assert 'data-why="no_consent"' in karen and "disabled" in karen
    inger = await (await anna.get(f"/citizens/{INGER}")).text()
    assert 'data-why="no_tablet"' in inger


async def test_menu_shows_each_role_its_work(
    server: TestServer, aiohttp_client: ClientFactory
) -> None:
    """Everyone: I dag, Indbakke, Borgere, Nøgletal; planners also Planlægning and Import."""
    carla = await staff(aiohttp_client, server, "carla")
    page = await (await carla.get("/citizens")).text()
    assert 'href="/citizens"' in page and 'href="/figures"' in page
    assert 'href="/planning"' not in page and 'href="/admin"' not in page
    assert (await carla.get("/planning")).status == 403
    pia = await staff(aiohttp_client, server, "pia")
    page = await (await pia.get("/planning")).text()
    assert 'href="/planning"' in page and 'href="/imports"' in page
    assert 'href="/admin"' not in page


async def test_planning_lists_unassigned_unringable_and_few_faces(
    demo: Settings, server: TestServer, aiohttp_client: ClientFactory
) -> None:
    """/planning: an unassigned visit with Tildel, a citizen without consent, few new faces."""
    from tests.console.seed import seed_today

    visits = await seed_today(demo)
    vera = await staff(aiohttp_client, server, "vera")
    me = await (await vera.get("/api/me")).json()
    headers = {"X-CSRF-Token": me["csrf_token"]}
    reply = await vera.post(
        f"/api/visits/{visits['Inger']}/assign", json={"unassign": True}, headers=headers
    )
    assert reply.status == 200
    reply = await vera.post(
        f"/api/citizens/{INGER}/few-new-faces", json={"few_new_faces": True}, headers=headers
    )
    assert reply.status == 200
    async with transaction(demo.database_url) as session:
        await session.execute(
            update(Consent).where(Consent.citizen_id == POUL).values(withdrawn_at=utcnow())
        )
    page = await (await vera.get("/planning")).text()
    assert f'data-visit-id="{visits["Inger"]}"' in page and "Tildel" in page
    assert f'href="/citizens/{POUL}"' in page
    assert f'href="/citizens/{INGER}/plans"' in page
