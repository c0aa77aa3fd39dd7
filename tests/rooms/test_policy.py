"""Tests for server.rooms.policy: ringing, joining and auto-answer rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.rooms.policy import (
    CallerFacts,
    CitizenFacts,
    ConsentFacts,
    JoinVerdict,
    TimeWindow,
    auto_answer_after,
    is_care_relation,
    may_join,
    may_ring,
)
from server.rooms.store import consent_facts
from server.visits.status import Window
from server.vocabulary import CallerGroup, PeerKind, Role

CPH = ZoneInfo("Europe/Copenhagen")
# Tuesday 4 March 2025, 08:05 in Copenhagen (07:05 UTC).
NOW = datetime(2025, 3, 4, 8, 5, tzinfo=CPH)

CITIZEN = CitizenFacts(
    citizen_id="cit-1",
    org_id="odense",
    team_id="team-a",
    contact_person_ids=frozenset({"u-contact"}),
    screen_visits_consent=True,
)
TEAM_NURSE = CallerFacts(PeerKind.STAFF, "u-nurse", "odense", Role.NURSE, frozenset({"team-a"}))
CONTACT_CARER = CallerFacts(PeerKind.STAFF, "u-contact", "odense", Role.CARER)
OTHER_TEAM_CARER = CallerFacts(
    PeerKind.STAFF, "u-other", "odense", Role.CARER, frozenset({"team-b"})
)
VISITATOR = CallerFacts(PeerKind.STAFF, "u-visitator", "odense", Role.VISITATOR)
PLANNER = CallerFacts(PeerKind.STAFF, "u-planner", "odense", Role.PLANNER)
ADMIN = CallerFacts(PeerKind.STAFF, "u-admin", "odense", Role.ADMIN)
FOREIGN_ADMIN = CallerFacts(PeerKind.STAFF, "u-admin2", "vejle", Role.ADMIN)
FOREIGN_NURSE = replace(TEAM_NURSE, org_id="vejle")
NO_ROLE = CallerFacts(PeerKind.STAFF, "u-norole", "odense", None, frozenset({"team-a"}))
KIOSK = CallerFacts(PeerKind.KIOSK, "kiosk-1", "odense")
GUEST = CallerFacts(PeerKind.GUEST, "guest-1", "odense")

CONSENT = ConsentFacts(granted_at=datetime(2025, 1, 1, tzinfo=UTC), tz=CPH)
VISIT = Window(planned_at=datetime(2025, 3, 4, 8, 0, tzinfo=CPH), window_min=15)


@pytest.mark.parametrize(
    ("caller", "citizen", "allowed"),
    [
        (TEAM_NURSE, CITIZEN, True),
        (CONTACT_CARER, CITIZEN, True),
        (OTHER_TEAM_CARER, CITIZEN, False),
        (VISITATOR, CITIZEN, True),
        (PLANNER, CITIZEN, True),
        (ADMIN, CITIZEN, True),
        (FOREIGN_ADMIN, CITIZEN, False),
        (FOREIGN_NURSE, CITIZEN, False),
        (NO_ROLE, CITIZEN, False),
        (KIOSK, CITIZEN, False),
        (GUEST, CITIZEN, False),
        (TEAM_NURSE, replace(CITIZEN, screen_visits_consent=False), False),
        (ADMIN, replace(CITIZEN, screen_visits_consent=False), False),
        (TEAM_NURSE, replace(CITIZEN, team_id=None), False),
    ],
)
def test_may_ring(caller: CallerFacts, citizen: CitizenFacts, allowed: bool) -> None:
    """Care staff ring their own citizens; the authority's roles ring within the organisation."""
    assert may_ring(caller, citizen) is allowed


@pytest.mark.parametrize(
    ("caller", "related"),
    [
        (TEAM_NURSE, True),
        (CONTACT_CARER, True),
        (OTHER_TEAM_CARER, False),
        (VISITATOR, False),
        (FOREIGN_NURSE, False),
        (replace(KIOSK, user_id="u-contact"), False),
    ],
)
def test_is_care_relation(caller: CallerFacts, related: bool) -> None:
    """Only staff on the fixed team or named contact persons have a care relation."""
    assert is_care_relation(caller, CITIZEN) is related


@pytest.mark.parametrize(
    ("inviter", "joiner", "seats_taken", "verdict"),
    [
        (TEAM_NURSE, OTHER_TEAM_CARER, 2, JoinVerdict.ALLOWED),
        (TEAM_NURSE, VISITATOR, 5, JoinVerdict.ALLOWED),
        (TEAM_NURSE, VISITATOR, 6, JoinVerdict.ROOM_FULL),
        (TEAM_NURSE, VISITATOR, 7, JoinVerdict.ROOM_FULL),
        (TEAM_NURSE, FOREIGN_NURSE, 2, JoinVerdict.FORBIDDEN),
        (TEAM_NURSE, NO_ROLE, 2, JoinVerdict.FORBIDDEN),
        (TEAM_NURSE, GUEST, 2, JoinVerdict.FORBIDDEN),
        (TEAM_NURSE, KIOSK, 2, JoinVerdict.FORBIDDEN),
        (KIOSK, TEAM_NURSE, 2, JoinVerdict.FORBIDDEN),
        (FOREIGN_ADMIN, TEAM_NURSE, 2, JoinVerdict.FORBIDDEN),
        (GUEST, TEAM_NURSE, 6, JoinVerdict.FORBIDDEN),
    ],
)
def test_may_join(
    inviter: CallerFacts, joiner: CallerFacts, seats_taken: int, verdict: JoinVerdict
) -> None:
    """Only staff of the citizen's organisation add staff colleagues, within capacity."""
    assert may_join(inviter, joiner, CITIZEN, seats_taken) is verdict


def test_may_join_capacity_is_a_parameter() -> None:
    """The capacity comes from settings, not a constant."""
    assert may_join(TEAM_NURSE, VISITATOR, CITIZEN, 3, max_participants=3) is JoinVerdict.ROOM_FULL
    assert may_join(TEAM_NURSE, VISITATOR, CITIZEN, 3, max_participants=8) is JoinVerdict.ALLOWED


def test_auto_answer_when_everything_holds() -> None:
    """Consent, care relation and visit window together give the default countdown."""
    assert auto_answer_after(TEAM_NURSE, CITIZEN, CONSENT, VISIT, NOW) == 10
    assert auto_answer_after(CONTACT_CARER, CITIZEN, CONSENT, VISIT, NOW, seconds=20) == 20


WEEKDAY_MORNING = TimeWindow(time(7, 0), time(9, 0), frozenset(range(5)))

AUTO_ANSWER_CASES = [
    # (label, caller, citizen, consent, visit, now, expected)
    ("no consent", TEAM_NURSE, CITIZEN, None, VISIT, NOW, None),
    ("no visit", TEAM_NURSE, CITIZEN, CONSENT, None, NOW, None),
    ("too early", TEAM_NURSE, CITIZEN, CONSENT, VISIT, NOW - timedelta(minutes=21), None),
    ("window edge", TEAM_NURSE, CITIZEN, CONSENT, VISIT, NOW + timedelta(minutes=10), 10),
    ("too late", TEAM_NURSE, CITIZEN, CONSENT, VISIT, NOW + timedelta(minutes=11), None),
    ("other team", OTHER_TEAM_CARER, CITIZEN, CONSENT, VISIT, NOW, None),
    ("visitator", VISITATOR, CITIZEN, CONSENT, VISIT, NOW, None),
    ("kiosk", KIOSK, CITIZEN, CONSENT, VISIT, NOW, None),
    (
        "no screen consent",
        TEAM_NURSE,
        replace(CITIZEN, screen_visits_consent=False),
        CONSENT,
        VISIT,
        NOW,
        None,
    ),
    (
        "not yet granted",
        TEAM_NURSE,
        CITIZEN,
        replace(CONSENT, granted_at=NOW + timedelta(1)),
        VISIT,
        NOW,
        None,
    ),
    ("expired", TEAM_NURSE, CITIZEN, replace(CONSENT, expires_at=NOW), VISIT, NOW, None),
    (
        "expires later",
        TEAM_NURSE,
        CITIZEN,
        replace(CONSENT, expires_at=NOW + timedelta(1)),
        VISIT,
        NOW,
        10,
    ),
    (
        "revoked",
        TEAM_NURSE,
        CITIZEN,
        replace(CONSENT, revoked_at=NOW - timedelta(1)),
        VISIT,
        NOW,
        None,
    ),
    (
        "revoked later",
        TEAM_NURSE,
        CITIZEN,
        replace(CONSENT, revoked_at=NOW + timedelta(1)),
        VISIT,
        NOW,
        10,
    ),
    (
        "caller listed",
        TEAM_NURSE,
        CITIZEN,
        replace(CONSENT, caller_ids=frozenset({"u-nurse"})),
        VISIT,
        NOW,
        10,
    ),
    (
        "caller not listed",
        CONTACT_CARER,
        CITIZEN,
        replace(CONSENT, caller_ids=frozenset({"u-nurse"})),
        VISIT,
        NOW,
        None,
    ),
    (
        "role listed",
        TEAM_NURSE,
        CITIZEN,
        replace(CONSENT, caller_roles=frozenset({Role.NURSE})),
        VISIT,
        NOW,
        10,
    ),
    (
        "role not listed",
        CONTACT_CARER,
        CITIZEN,
        replace(CONSENT, caller_roles=frozenset({Role.NURSE})),
        VISIT,
        NOW,
        None,
    ),
    (
        "inside time window",
        TEAM_NURSE,
        CITIZEN,
        replace(CONSENT, windows=(WEEKDAY_MORNING,)),
        VISIT,
        NOW,
        10,
    ),
    (
        "outside time window",
        TEAM_NURSE,
        CITIZEN,
        replace(CONSENT, windows=(TimeWindow(time(9), time(12)),)),
        VISIT,
        NOW,
        None,
    ),
    (
        "weekend",
        TEAM_NURSE,
        CITIZEN,
        replace(CONSENT, windows=(WEEKDAY_MORNING,)),
        replace(VISIT, planned_at=VISIT.planned_at + timedelta(days=4)),
        NOW + timedelta(days=4),
        None,
    ),
    (
        "utc now, local window",
        TEAM_NURSE,
        CITIZEN,
        replace(CONSENT, windows=(TimeWindow(time(8), time(8, 30)),)),
        VISIT,
        NOW.astimezone(UTC),
        10,
    ),
]


@pytest.mark.parametrize(
    ("caller", "citizen", "consent", "visit", "now", "expected"),
    [case[1:] for case in AUTO_ANSWER_CASES],
    ids=[case[0] for case in AUTO_ANSWER_CASES],
)
def test_auto_answer_after(
    caller: CallerFacts,
    citizen: CitizenFacts,
    consent: ConsentFacts | None,
    visit: Window | None,
    now: datetime,
    expected: int | None,
) -> None:
    """Any missing condition means the kiosk just rings."""
    assert auto_answer_after(caller, citizen, consent, visit, now) == expected


@pytest.mark.parametrize(
    ("now", "seconds"),
    [(NOW.replace(tzinfo=None), 10), (NOW, 0), (NOW, 121)],
)
def test_auto_answer_rejects_bad_arguments(now: datetime, seconds: int) -> None:
    """A naive clock or a countdown outside 1..120 s is a programming error."""
    with pytest.raises(ValueError):
        auto_answer_after(TEAM_NURSE, CITIZEN, CONSENT, VISIT, now, seconds=seconds)


@pytest.mark.parametrize(
    ("window", "local", "inside"),
    [
        (TimeWindow(time(7), time(9)), datetime(2025, 3, 4, 7, 0), True),
        (TimeWindow(time(7), time(9)), datetime(2025, 3, 4, 8, 59), True),
        (TimeWindow(time(7), time(9)), datetime(2025, 3, 4, 9, 0), False),
        (TimeWindow(time(7), time(9)), datetime(2025, 3, 4, 6, 59), False),
        (TimeWindow(time(22), time(6)), datetime(2025, 3, 4, 23, 30), True),
        (TimeWindow(time(22), time(6)), datetime(2025, 3, 4, 5, 59), True),
        (TimeWindow(time(22), time(6)), datetime(2025, 3, 4, 12, 0), False),
        (TimeWindow(time(7), time(9), frozenset({5, 6})), datetime(2025, 3, 8, 8, 0), True),
        (TimeWindow(time(7), time(9), frozenset({5, 6})), datetime(2025, 3, 4, 8, 0), False),
        (TimeWindow(time(7), time(9)), datetime(2025, 3, 4, 8, 0, tzinfo=CPH), True),
    ],
)
def test_time_window_contains(window: TimeWindow, local: datetime, inside: bool) -> None:
    """Windows are half-open, may cross midnight and may be limited to weekdays."""
    assert window.contains(local) is inside


@pytest.mark.parametrize(
    ("start", "end", "weekdays"),
    [(time(8), time(8), frozenset({0})), (time(8), time(9), frozenset({7}))],
)
def test_time_window_rejects_bad_values(start: time, end: time, weekdays: frozenset[int]) -> None:
    """Empty windows and weekdays outside 0..6 are refused."""
    with pytest.raises(ValueError):
        TimeWindow(start, end, weekdays)


def test_visit_window_is_symmetric() -> None:
    """The visit window extends equally before and after the planned time."""
    for minutes, inside in [(-15, True), (15, True), (-16, False), (16, False), (0, True)]:
        moment = VISIT.planned_at + timedelta(minutes=minutes)
        assert VISIT.contains(moment) is inside


# The register's scope: groups and named staff form the permitted set (Pia is on the team,
# not a contact person; the contact carer is on no team of the citizen).
TEAM_PLANNER = CallerFacts(PeerKind.STAFF, "u-pia", "odense", Role.PLANNER, frozenset({"team-a"}))
CONTACTS = replace(CONSENT, callers=frozenset({CallerGroup.CONTACT_PERSONS}))
TEAM = replace(CONSENT, callers=frozenset({CallerGroup.TEAM}))
BOTH = replace(CONSENT, callers=frozenset({CallerGroup.CONTACT_PERSONS, CallerGroup.TEAM}))
NAMED_PIA = replace(CONSENT, staff_ids=frozenset({"u-pia"}))

CALLER_CASES = [
    # (label, caller, consent, expected)
    ("no callers named: any care relation", TEAM_PLANNER, CONSENT, 10),
    ("contact persons: contact carer", CONTACT_CARER, CONTACTS, 10),
    ("contact persons: team planner", TEAM_PLANNER, CONTACTS, None),
    ("contact persons: team nurse", TEAM_NURSE, CONTACTS, None),
    ("team: team nurse", TEAM_NURSE, TEAM, 10),
    ("team: contact carer off the team", CONTACT_CARER, TEAM, None),
    ("both: contact carer", CONTACT_CARER, BOTH, 10),
    ("both: team planner", TEAM_PLANNER, BOTH, 10),
    ("named: the named one", TEAM_PLANNER, NAMED_PIA, 10),
    ("named: someone else on the team", TEAM_NURSE, NAMED_PIA, None),
    ("contacts or named", TEAM_PLANNER, replace(CONTACTS, staff_ids=frozenset({"u-pia"})), 10),
    ("empty group list covers nobody", TEAM_NURSE, replace(CONSENT, callers=frozenset()), None),
    ("unknown group covers nobody", TEAM_NURSE, replace(CONSENT, callers=frozenset({"x"})), None),
    (
        "named but no care relation",
        OTHER_TEAM_CARER,
        replace(CONSENT, staff_ids=frozenset({"u-other"})),
        None,
    ),
    (
        "older caller_ids narrow groups",
        TEAM_NURSE,
        replace(TEAM, caller_ids=frozenset({"u-x"})),
        None,
    ),
    (
        "older caller_roles narrow groups",
        TEAM_NURSE,
        replace(TEAM, caller_roles=frozenset({Role.NURSE})),
        10,
    ),
]


@pytest.mark.parametrize(
    ("caller", "consent", "expected"),
    [case[1:] for case in CALLER_CASES],
    ids=[case[0] for case in CALLER_CASES],
)
def test_auto_answer_callers(
    caller: CallerFacts, consent: ConsentFacts, expected: int | None
) -> None:
    """The consent's callers (contact persons, team, named staff) decide who gets the
    countdown; a caller without a care relation never does."""
    assert auto_answer_after(caller, CITIZEN, consent, VISIT, NOW) == expected


@pytest.mark.parametrize(
    ("scope", "callers", "windows"),
    [
        ({"callers": ["contact_persons", "team"]}, {"contact_persons", "team"}, 0),
        ({"callers": "contact_persons_and_team"}, {"contact_persons", "team"}, 0),
        ({"windows": [{"start": "07:00", "end": "10:00", "weekdays": [0]}]}, None, 1),
        ({}, None, 0),
    ],
)
def test_stored_scope_reads_as_facts(
    scope: dict[str, object], callers: set[str] | None, windows: int
) -> None:
    """The register's scope, and the first demo data's string, read as the policy's facts."""
    facts = consent_facts(NOW, scope, CPH)
    assert facts.callers == (frozenset(callers) if callers is not None else None)
    assert len(facts.windows) == windows


@pytest.mark.parametrize(
    "scope",
    [{"windows": [{"start": "25:00", "end": "10:00"}]}, {"windows": [{"end": "10:00"}]}],
)
def test_unreadable_scope_raises(scope: dict[str, object]) -> None:
    """A malformed stored scope is an error (the store then lets the tablet just ring)."""
    with pytest.raises((KeyError, ValueError)):
        consent_facts(NOW, scope, CPH)
