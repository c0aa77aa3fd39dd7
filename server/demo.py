"""Demo data: one municipality, two teams, staff, 20 citizens with tablets and visit plans, and
one citizen without a tablet who gets her reminders by SMS."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .citizens import agreements, consents, relatives
from .db import make_engine, make_sessionmaker
from .localtime import local_day
from .models import (
    AgreementSheet,
    Channel,
    Citizen,
    ContactPerson,
    KioskDevice,
    LinkPurpose,
    Organisation,
    Relative,
    RelativeLink,
    Role,
    Staff,
    Team,
    TeamMembership,
    VisitPlan,
    VisitType,
    utcnow,
)
from .models.notices import SmsRecipient
from .scheduling.generation import generate
from .security import hash_password, sign, token_hash
from .settings import Settings

DEMO_SLUG = "demo"
DEMO_PASSWORD = "demo1234"
DEMO_LINK_DAYS = 365  # the demo relative's link outlives a month of demos

DEMO_STAFF = (
    # username, name, role, teams
    ("anna", "Anna Jensen", Role.NURSE, ("Team Nord",)),
    ("bo", "Bo Nielsen", Role.NURSE, ("Team Syd",)),
    ("carla", "Carla Hansen", Role.CARER, ("Team Nord",)),
    ("dennis", "Dennis Larsen", Role.CARER, ("Team Syd",)),
    ("pia", "Pia Planlægger", Role.PLANNER, ("Team Nord", "Team Syd")),
    ("vera", "Vera Visitator", Role.VISITATOR, ()),
    ("admin", "Demo Administrator", Role.ADMIN, ()),
)

# code, Danish name, English name, non-swappable, camera off by default, qualified roles
VISIT_TYPES: tuple[tuple[str, str, str, bool, bool, list[str]], ...] = (
    ("medication", "Medicin", "Medication", True, False, ["nurse"]),
    ("bath", "Bad", "Bath", False, True, []),
    ("reassurance", "Tryghedsopkald", "Reassurance call", False, False, []),
    ("wake_up", "Vækning", "Wake-up call", False, False, []),
    ("meal_drink", "Mad og drikke", "Meal and drink reminder", False, False, []),
    ("structure", "Struktur og påmindelser", "Structure and reminders", False, False, []),
    ("blood_sugar", "Blodsukker", "Blood sugar", True, False, ["nurse"]),
    ("visitation_meeting", "Visitationsmøde", "Visitation meeting", False, False, []),
)

CITIZEN_NAMES = (
    ("Karen Sørensen", "Karen"),
    ("Poul Andersen", "Poul"),
    ("Inger Madsen", "Inger"),
    ("Jens Christensen", "Jens"),
    ("Birthe Pedersen", "Birthe"),
    ("Erik Olsen", "Erik"),
    ("Grethe Thomsen", "Grethe"),
    ("Niels Rasmussen", "Niels"),
    ("Kirsten Poulsen", "Kirsten"),
    ("Henning Johansen", "Henning"),
    ("Lis Knudsen", "Lis"),
    ("Bent Mortensen", "Bent"),
    ("Ruth Møller", "Ruth"),
    ("Arne Jørgensen", "Arne"),
    ("Else Petersen", "Else"),
    ("Svend Kristensen", "Svend"),
    ("Hanne Frederiksen", "Hanne"),
    ("Ole Iversen", "Ole"),
    ("Aase Dam", "Aase"),
    ("Knud Holm", "Knud"),
)

# Plans per citizen index: (visit type, time, rrule, channel by weekday).
PLAN_PATTERNS = (
    (("medication", "08:00", "FREQ=DAILY"), ("reassurance", "15:00", "FREQ=DAILY")),
    (("medication", "08:30", "FREQ=DAILY"), ("meal_drink", "12:00", "FREQ=DAILY")),
    (
        ("wake_up", "07:30", "FREQ=DAILY"),
        ("bath", "10:00", "FREQ=WEEKLY;BYDAY=TU,FR"),
        ("structure", "16:00", "FREQ=WEEKLY;BYDAY=MO,WE,FR"),
    ),
    (("blood_sugar", "09:00", "FREQ=DAILY"), ("reassurance", "19:00", "FREQ=DAILY")),
)
SCREEN_MWF = {"0": "screen", "1": "physical", "2": "screen", "3": "physical", "4": "screen"}

# A citizen without a tablet, with an SMS number: her reminders and change notices go by SMS, and
# the demo's logging adapter writes each to the log ("sms to ********50 sent"). Not one of
# CITIZEN_NAMES, whose index is their demo tablet's; her visits are physical.
SMS_CITIZEN = ("Gerda Lund", "Gerda")
SMS_CITIZEN_TEAM = ("Team Syd", ("bo", "dennis"))
SMS_CITIZEN_PHONE = "+45 20 30 40 50"
SMS_CITIZEN_PLANS = (
    ("meal_drink", "11:30", "FREQ=DAILY"),
    ("bath", "13:00", "FREQ=WEEKLY;BYDAY=MO,TH"),
)


def demo_relative_link_token(settings: Settings) -> str:
    """Karen's daughter's agreements link, stable per installation like the tablet tokens."""
    return "demo-" + sign(settings.secret_key, "demo-relative-agreements")[:40]


def demo_kiosk_token(settings: Settings, index: int) -> str:
    """Stable per installation (derived from its secret), so `make run` can print it again."""
    return "demo-" + sign(settings.secret_key, f"demo-kiosk-{index}")[:40]


async def seed_demo(settings: Settings, *, force: bool = False) -> bool:
    """Insert the demo organisation once; returns False when it was already there."""
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine).begin() as session:
            exists = await session.scalar(
                select(Organisation.id).where(Organisation.slug == DEMO_SLUG)
            )
            if exists is not None and not force:
                await _add_missing_visit_types(session, exists)
                await session.flush()
                added = await _add_sms_citizen(session, settings, exists)
                if added is not None:
                    await generate(
                        session,
                        utcnow(),
                        zone=settings.zone,
                        horizon_days=settings.scheduling_horizon_days,
                        citizen_ids=[added],
                    )
                return False
            await _seed(session, settings)
            return True
    finally:
        await engine.dispose()


async def _seed(session: AsyncSession, settings: Settings) -> None:
    # The demo's nurses set up tablets (as many home-care units do); a new organisation
    # leaves that to its administrators (orgsettings.tablet_roles).
    demo_policy = {"call_back_button": True, "tablet_roles": ["admin", "nurse"]}
    org = Organisation(slug=DEMO_SLUG, name="Demo Kommune", settings=demo_policy)
    session.add(org)
    await session.flush()
    teams = {
        name: Team(organisation_id=org.id, name=name, phone=phone)
        for name, phone in (("Team Nord", "70 10 20 30"), ("Team Syd", "70 10 20 40"))
    }
    session.add_all(teams.values())
    types = [_visit_type(org.id, row) for row in VISIT_TYPES]
    session.add_all(types)
    await session.flush()
    staff = await _seed_staff(session, org, teams)
    await _seed_citizens(session, settings, org, teams, staff, {t.code: t for t in types})
    await session.flush()
    await _seed_agreements(session, settings, teams["Team Nord"])
    await _add_sms_citizen(session, settings, org.id)
    # The demo's visits come from its plans, through the same generator the server runs.
    await generate(
        session, utcnow(), zone=settings.zone, horizon_days=settings.scheduling_horizon_days
    )


def _visit_type(
    organisation_id: int, row: tuple[str, str, str, bool, bool, list[str]]
) -> VisitType:
    code, name_da, name_en, non_swappable, camera_off, roles = row
    return VisitType(
        organisation_id=organisation_id,
        code=code,
        name_da=name_da,
        name_en=name_en,
        non_swappable=non_swappable,
        camera_off_by_default=camera_off,
        qualified_roles=roles,
    )


async def _add_missing_visit_types(session: AsyncSession, organisation_id: int) -> None:
    """A demo seeded by an older version gets the visit types added since (by code, once)."""
    have = set(
        await session.scalars(
            select(VisitType.code).where(VisitType.organisation_id == organisation_id)
        )
    )
    session.add_all(_visit_type(organisation_id, row) for row in VISIT_TYPES if row[0] not in have)


async def _seed_staff(
    session: AsyncSession, org: Organisation, teams: dict[str, Team]
) -> dict[str, Staff]:
    password_hash = hash_password(DEMO_PASSWORD)
    people = {
        username: Staff(
            organisation_id=org.id,
            username=username,
            display_name=name,
            role=role,
            password_hash=password_hash,
            # Drawn initials, so the tablet always shows a face-like picture of who calls.
            photo_url=f"/static/img/staff/{username}.svg",
        )
        for username, name, role, _ in DEMO_STAFF
    }
    session.add_all(people.values())
    await session.flush()
    session.add_all(
        TeamMembership(staff_id=people[username].id, team_id=teams[team].id)
        for username, _, _, team_names in DEMO_STAFF
        for team in team_names
    )
    return people


async def _seed_citizens(
    session: AsyncSession,
    settings: Settings,
    org: Organisation,
    teams: dict[str, Team],
    staff: dict[str, Staff],
    types: dict[str, VisitType],
) -> None:
    team_cycle = itertools.cycle((("Team Nord", ("anna", "carla")), ("Team Syd", ("bo", "dennis"))))
    today = local_day(utcnow(), settings.zone)
    for index, ((name, preferred), (team_name, contacts)) in enumerate(
        zip(CITIZEN_NAMES, team_cycle, strict=False)
    ):
        citizen = Citizen(
            organisation_id=org.id,
            team_id=teams[team_name].id,
            name=name,
            preferred_name=preferred,
            special_approach="Taler langsomt og tydeligt; hører dårligt på venstre øre."
            if index % 3 == 0
            else None,
            wishes="Vil gerne kaldes ved fornavn." if index % 2 == 0 else None,
        )
        session.add(citizen)
        await session.flush()
        session.add_all(
            ContactPerson(citizen_id=citizen.id, staff_id=staff[u].id, priority=p)
            for p, u in enumerate(contacts, start=1)
        )
        await _seed_consents_and_relative(session, citizen, index)
        session.add(_demo_kiosk(settings, org, citizen, index))
        for code, at, rule in PLAN_PATTERNS[index % len(PLAN_PATTERNS)]:
            session.add(_demo_plan(citizen, teams[team_name], types[code], at, rule, today, index))


async def _seed_consents_and_relative(session: AsyncSession, citizen: Citizen, index: int) -> None:
    """Through the consent register: every citizen consents to screen visits, every other one
    to auto-answer by their contact persons and team; each has a relative whose permissions
    the citizen gave (recorded consents, so the ladder's relative notice reaches them)."""
    author = consents.Author("demo", audited=False)
    now = utcnow()
    citizen_gives = consents.Giver(consents.GiverKind.CITIZEN)
    screen = consents.ConsentInput("screen_visits", citizen_gives, {}, note="Opstartsbesøg")
    await consents.record(session, author, citizen, screen, now)
    if index % 2 == 0:
        scope = {"callers": ["contact_persons", "team"]}
        auto = consents.ConsentInput("auto_answer", citizen_gives, scope, note="Opstartsbesøg")
        await consents.record(session, author, citizen, auto, now)
    first, relation = DEMO_RELATIVES[index % len(DEMO_RELATIVES)]
    surname = citizen.name.split()[-1]
    who = relatives.RelativeInput(
        f"{first} {surname}", relation, f"+45 20 {index:02d} 40 {10 + index:02d}"
    )
    relative = await relatives.add(session, author, citizen, who, now)
    may = {"join_meetings": True, "see_agreements": True, "be_notified": index % 2 == 0}
    change = relatives.PermissionChange(may, citizen_gives)
    await relatives.set_permissions(session, author, citizen, relative, change, now)


# First name and relation of each demo citizen's relative.
DEMO_RELATIVES = (
    ("Ida", "datter"),
    ("Mads", "søn"),
    ("Lene", "datter"),
    ("Peter", "søn"),
    ("Susanne", "niece"),
)


async def _seed_agreements(session: AsyncSession, settings: Settings, team: Team) -> None:
    """Karen had her start-up meeting today: her tablet shows the sheet."""
    karen = await session.scalar(select(Citizen).where(Citizen.name == CITIZEN_NAMES[0][0]))
    if karen is None:
        return
    sheet = AgreementSheet(
        citizen_id=karen.id,
        meeting_date=local_day(utcnow(), settings.zone),
        participants=["Karen Sørensen", "Karens søn", "Vera Visitator", "Anna Jensen"],
        topics="Medicin, tryghed og skærmbesøg",
        citizen_says="Jeg vil gerne selv tage min medicin. Det er rart, at nogen ser med.",
        relatives_say="Sønnen vil gerne have besked, hvis Karen ikke svarer.",
        citizen_does="Du tager selv din medicin kl. 8, mens Anna ser med på skærmen.",
        municipality_does="Vi ringer til dig kl. 8 og kl. 15. Svarer du ikke, kommer vi forbi.",
        contact_phone=team.phone,
        follow_up_date=local_day(utcnow(), settings.zone) + dt.timedelta(days=14),
    )
    session.add(sheet)
    await session.flush()
    # Version 1 as written at the meeting (agreements.create does the same for staff).
    session.add(agreements.version_row(sheet, None, sheet.created_at))
    # Her daughter (who may see the agreements) has a personal link; `make run` prints it.
    relative = await session.scalar(select(Relative).where(Relative.citizen_id == karen.id))
    if relative is not None:
        session.add(
            RelativeLink(
                relative_id=relative.id,
                citizen_id=karen.id,
                purpose=LinkPurpose.AGREEMENTS,
                token_hash=token_hash(demo_relative_link_token(settings)),
                expires_at=utcnow() + dt.timedelta(days=DEMO_LINK_DAYS),
            )
        )


async def _add_sms_citizen(
    session: AsyncSession, settings: Settings, organisation_id: int
) -> int | None:
    """The citizen who gets notices by SMS (also added to a demo seeded before her, once, by
    name); returns her id when added now."""
    name, preferred = SMS_CITIZEN
    have = await session.scalar(
        select(Citizen.id).where(Citizen.organisation_id == organisation_id, Citizen.name == name)
    )
    team_name, contacts = SMS_CITIZEN_TEAM
    team = await session.scalar(
        select(Team).where(Team.organisation_id == organisation_id, Team.name == team_name)
    )
    if have is not None or team is None:
        return None
    types = {
        t.code: t
        for t in await session.scalars(
            select(VisitType).where(VisitType.organisation_id == organisation_id)
        )
    }
    staff = {
        s.username: s
        for s in await session.scalars(
            select(Staff).where(
                Staff.organisation_id == organisation_id, Staff.username.in_(contacts)
            )
        )
    }
    citizen = Citizen(
        organisation_id=organisation_id,
        team_id=team.id,
        name=name,
        preferred_name=preferred,
        wishes="Har ingen tablet; vil have besked på SMS, når nogen kommer.",
    )
    session.add(citizen)
    await session.flush()
    session.add_all(
        ContactPerson(citizen_id=citizen.id, staff_id=staff[u].id, priority=p)
        for p, u in enumerate(contacts, start=1)
        if u in staff
    )
    session.add(SmsRecipient(citizen_id=citizen.id, phone=SMS_CITIZEN_PHONE))
    today = local_day(utcnow(), settings.zone)
    for code, at, rule in SMS_CITIZEN_PLANS:
        if code in types:
            plan = _demo_plan(citizen, team, types[code], at, rule, today, 0)
            plan.default_channel = Channel.PHYSICAL
            session.add(plan)
    await session.flush()
    return citizen.id


def _demo_kiosk(settings: Settings, org: Organisation, citizen: Citizen, index: int) -> KioskDevice:
    return KioskDevice(
        organisation_id=org.id,
        citizen_id=citizen.id,
        label=f"Tablet {index + 1:02d}",
        token_hash=token_hash(demo_kiosk_token(settings, index)),
        enrolled_at=utcnow(),
    )


def _demo_plan(
    citizen: Citizen, team: Team, vtype: VisitType, at: str, rule: str, today: dt.date, index: int
) -> VisitPlan:
    hours, minutes = (int(part) for part in at.split(":"))
    return VisitPlan(
        citizen_id=citizen.id,
        visit_type_id=vtype.id,
        team_id=team.id,
        rrule=rule,
        local_time=dt.time(hours, minutes),
        window_min=15,
        duration_min=vtype.default_duration_min,
        channel_by_weekday=SCREEN_MWF if index % 5 == 4 else {},
        default_channel=Channel.SCREEN,
        valid_from=today - dt.timedelta(days=7),
        valid_to=None,
    )


async def create_admin(
    settings: Settings, org_slug: str, username: str, name: str, password: str
) -> None:
    """Create an administrator in an existing organisation (the CLI's create-admin)."""
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine).begin() as session:
            org_id = await session.scalar(
                select(Organisation.id).where(Organisation.slug == org_slug)
            )
            if org_id is None:
                org = Organisation(slug=org_slug, name=org_slug.title())
                session.add(org)
                await session.flush()
                org_id = org.id
            session.add(
                Staff(
                    organisation_id=org_id,
                    username=username,
                    display_name=name,
                    role=Role.ADMIN,
                    password_hash=hash_password(password),
                )
            )
    finally:
        await engine.dispose()


async def live_demo_tablets(settings: Settings) -> set[int]:
    """The demo citizens (by index) whose demo tablet token still works (not revoked or
    replaced by a new enrolment since)."""
    hashes = {token_hash(demo_kiosk_token(settings, i)): i for i in range(len(CITIZEN_NAMES))}
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            live = await session.scalars(
                select(KioskDevice.token_hash).where(
                    KioskDevice.token_hash.in_(hashes), KioskDevice.revoked_at.is_(None)
                )
            )
            return {hashes[h] for h in live if h is not None}
    finally:
        await engine.dispose()


def print_demo_access(settings: Settings, live: set[int] | None = None) -> None:
    """Tell the person who ran `make run` where to go and how to log in (``live``: the demo
    tablets that still work; the others are left out)."""
    url = settings.public_url.rstrip("/")
    print(f"\nscreenvisit demo — open {url}/login")
    print(f"  staff logins (password '{DEMO_PASSWORD}'):")
    for username, name, role, teams in DEMO_STAFF:
        print(
            f"    {username:<8} {name:<20} {role.value:<10} {', '.join(teams) or 'hele kommunen'}"
        )
    print("  citizen tablets (open in a browser; the token is kept in the URL fragment):")
    for index, (name, _) in enumerate(CITIZEN_NAMES):
        if live is None or index in live:
            print(f"    {name:<18} {url}/kiosk/#token={demo_kiosk_token(settings, index)}")
    print(f"    {SMS_CITIZEN[0]:<18} (no tablet: her reminders go by SMS, see 'sms to' in the log)")
    link = f"{url}/r/{demo_relative_link_token(settings)}"
    print("  a relative's agreements page (Karen's daughter Ida; no account, a phone is fine):")
    print(f"    {link}")
    gone = len(CITIZEN_NAMES) - len(live) if live is not None else 0
    if gone:
        print(f"    ({gone} demo tablets were revoked or replaced: open {url}/kiosk/ on a new one")
        print("     and enrol it with its pairing code from the citizen's page)")
    print()
