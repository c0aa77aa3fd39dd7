"""Who and what the matrix runs against: the demo organisation plus a second one.

The demo (server/demo.py) gives team A (Team Nord: anna, carla), team B (Team Syd: bo), an
organisation-wide planner, visitator and admin, tablets and relatives. A second organisation
("nabo") adds a nurse and an admin of its own and one citizen with a plan and visits, so every
object route can be asked about an object of another organisation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.citizens import consents, relatives
from server.demo import CITIZEN_NAMES, DEMO_PASSWORD, demo_kiosk_token, demo_relative_link_token
from server.models import (
    Citizen,
    Consent,
    LinkPurpose,
    Organisation,
    Relative,
    RelativeLink,
    Role,
    Staff,
    Team,
    TeamMembership,
    Visit,
    VisitPlan,
    VisitType,
    utcnow,
)
from server.models.agreements import AgreementSheet
from server.scheduling.generation import generate
from server.security import hash_password, token_hash
from server.settings import Settings
from tests.databases import transaction

# Both organisations let nurses enrol and revoke tablets (orgsettings.tablet_roles), set here
# so that the table does not depend on the demo's choice.
TABLET_POLICY = {"tablet_roles": ["admin", "nurse"]}
MISSING = 987_654  # an id no table holds
OTHER_ORG_SLUG = "nabo"
CALL_LINK_TOKEN = "authz-matrix-call-link-token-0001"  # noqa: S105 - a test fixture's own token


@dataclass
class Objects:
    """Ids of one owner's objects, by path parameter name (absent: not seeded for that owner)."""

    ids: dict[str, int] = field(default_factory=dict)


@dataclass
class World:
    """Tokens and object ids, by owner: ``A`` team A, ``B`` team B, ``X`` the other organisation."""

    kiosk_token: str
    relative_token: str
    owners: dict[str, Objects]


async def seed_other_organisation(settings: Settings) -> None:
    """A second municipality with a nurse, an admin and one citizen with a plan and visits."""
    password = hash_password(DEMO_PASSWORD)
    async with transaction(settings.database_url) as session:
        org = Organisation(slug=OTHER_ORG_SLUG, name="Nabokommune", settings=TABLET_POLICY)
        session.add(org)
        await session.flush()
        team = Team(organisation_id=org.id, name="Team Nabo")
        vtype = VisitType(
            organisation_id=org.id, code="reassurance", name_da="Tryghed", name_en="Reassurance"
        )
        session.add_all([team, vtype])
        await session.flush()
        for username, role in (("nina", Role.NURSE), ("nadmin", Role.ADMIN)):
            staff = Staff(
                organisation_id=org.id,
                username=username,
                display_name=username.title(),
                role=role,
                password_hash=password,
            )
            session.add(staff)
            await session.flush()
            if role is Role.NURSE:
                session.add(TeamMembership(staff_id=staff.id, team_id=team.id))
        citizen = Citizen(organisation_id=org.id, team_id=team.id, name="Xenia Nabo")
        session.add(citizen)
        await session.flush()
        # Her consent to screen visits, so that ringing her is refused for who rings, not why.
        gives = consents.Giver(consents.GiverKind.CITIZEN)
        screen = consents.ConsentInput("screen_visits", gives, {}, note="authz matrix")
        await consents.record(
            session, consents.Author("authz", audited=False), citizen, screen, utcnow()
        )
        session.add(_daily_plan(citizen, team, vtype))
        await session.flush()
        await generate(session, utcnow(), zone=settings.zone, citizen_ids=[citizen.id])


def _daily_plan(citizen: Citizen, team: Team, vtype: VisitType) -> VisitPlan:
    return VisitPlan(
        citizen_id=citizen.id,
        visit_type_id=vtype.id,
        team_id=team.id,
        rrule="FREQ=DAILY",
        local_time=dt.time(10, 0),
        window_min=15,
        duration_min=15,
        channel_by_weekday={},
        valid_from=dt.date.today() - dt.timedelta(days=2),
        valid_to=None,
    )


async def load_world(settings: Settings) -> World:
    """Look up the ids the matrix substitutes into paths; add a call link for the relative."""
    async with transaction(settings.database_url) as session:
        names = {"A": CITIZEN_NAMES[0][0], "B": CITIZEN_NAMES[1][0], "X": "Xenia Nabo"}
        owners = {owner: await _objects(session, name) for owner, name in names.items()}
        karen = owners["A"].ids
        await _let_relative_call(session, karen["citizen_id"], karen["relative_id"])
        session.add(
            RelativeLink(
                relative_id=karen["relative_id"],
                citizen_id=karen["citizen_id"],
                purpose=LinkPurpose.CALL,
                token_hash=token_hash(CALL_LINK_TOKEN),
                expires_at=utcnow() + dt.timedelta(days=1),
            )
        )
    return World(demo_kiosk_token(settings, 0), demo_relative_link_token(settings), owners)


async def _let_relative_call(session: AsyncSession, citizen_id: int, relative_id: int) -> None:
    """Through the register, as the demo gives its permissions: Karen lets her relative ring."""
    citizen = await session.get_one(Citizen, citizen_id)
    relative = await session.get_one(Relative, relative_id)
    org = await session.get_one(Organisation, citizen.organisation_id)
    org.settings = {**org.settings, "relatives_may_call": True, **TABLET_POLICY}
    may = {"join_meetings": True, "see_agreements": True, "be_notified": True, "call": True}
    change = relatives.PermissionChange(may, consents.Giver(consents.GiverKind.CITIZEN))
    author = consents.Author("authz matrix", audited=False)
    await relatives.set_permissions(session, author, citizen, relative, change, utcnow())


async def _objects(session: AsyncSession, citizen_name: str) -> Objects:
    citizen_id = await session.scalar(select(Citizen.id).where(Citizen.name == citizen_name))
    assert citizen_id is not None, citizen_name
    queries = {
        "visit_id": select(Visit.id).where(Visit.citizen_id == citizen_id),
        "plan_id": select(VisitPlan.id).where(VisitPlan.citizen_id == citizen_id),
        "relative_id": select(Relative.id).where(Relative.citizen_id == citizen_id),
        "consent_id": select(Consent.id).where(Consent.citizen_id == citizen_id),
        "sheet_id": select(AgreementSheet.id).where(AgreementSheet.citizen_id == citizen_id),
    }
    ids = {"citizen_id": citizen_id}
    for name, query in queries.items():
        found = await session.scalar(query.limit(1))
        if found is not None:
            ids[name] = found
    return Objects(ids)
