"""Organisation-wide roles see their own organisation only, never a neighbouring one's."""

from __future__ import annotations

from server.models import Organisation, Team
from server.settings import Settings
from tests.conftest import Client, login
from tests.databases import transaction


async def other_organisation_team(settings: Settings) -> int:
    """A team of a second municipality in the same deployment."""
    async with transaction(settings.database_url) as session:
        org = Organisation(slug="nabo", name="Nabokommune")
        session.add(org)
        await session.flush()
        team = Team(organisation_id=org.id, name="Team Nabo")
        session.add(team)
        await session.flush()
        return team.id


async def test_planner_cannot_read_another_organisations_day(
    client: Client, demo: Settings
) -> None:
    """A planner asking for a neighbouring municipality's team day list is refused."""
    team_id = await other_organisation_team(demo)
    assert await login(client, "pia") == 303
    response = await client.get(f"/api/daylist?team_id={team_id}")
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "forbidden"
    own = await client.get("/api/daylist?team_id=1")
    assert own.status == 200
