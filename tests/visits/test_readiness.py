"""Tablet readiness: one query shape for every reader, and the two rules that read it."""

from __future__ import annotations

import datetime as dt

import pytest

from server.models import KioskDevice, KioskSelfTest, utcnow
from server.settings import Settings
from server.visits.readiness import (
    READY_WITHIN,
    SEEN_RECENTLY,
    SelfTest,
    Tablet,
    alert_for,
    citizen_tablets,
    citizens_tablets,
    problem,
)
from server.vocabulary import InboxKind
from tests.databases import transaction

KAREN = 1
NOW = dt.datetime(2026, 3, 4, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Runs on SQLite and PostgreSQL."""
    return both_backends


async def test_readiness_newest_tablet_and_newest_test_win(db_url: str, demo: Settings) -> None:
    """A citizen's newest unrevoked tablet counts; of tests at the same time, the later row."""
    at = utcnow()
    async with transaction(db_url) as session:
        spare = KioskDevice(organisation_id=1, citizen_id=KAREN, label="Spare", enrolled_at=at)
        session.add(spare)
        await session.flush()
        session.add_all(
            [
                KioskSelfTest(kiosk_id=spare.id, at=at, ok=False, failed_part="camera"),
                KioskSelfTest(kiosk_id=spare.id, at=at, ok=True),
                KioskSelfTest(kiosk_id=spare.id, at=at - dt.timedelta(hours=1), ok=False),
            ]
        )
        spare_id = spare.id
    async with transaction(db_url) as session:
        found = (await citizens_tablets(session, [KAREN, 2]))[KAREN]
        history = await citizen_tablets(session, KAREN)
    assert found.kiosk_id == spare_id and found.selftest is not None and found.selftest.ok
    assert [t.kiosk_id for t in history][-1] == spare_id and len(history) == 2


def tablet(*, seen_ago: dt.timedelta | None = None, test: SelfTest | None = None) -> Tablet:
    """A tablet last seen ``seen_ago`` before NOW, with its latest self-test."""
    seen = None if seen_ago is None else NOW - seen_ago
    return Tablet(1, KAREN, "Tablet 01", NOW, None, seen, test)


def selftest(ok: bool, ago: dt.timedelta = dt.timedelta(minutes=5)) -> SelfTest:
    """A self-test ``ago`` before NOW."""
    return SelfTest(NOW - ago, ok, None if ok else "camera", 40.0, 0.0)


@pytest.mark.parametrize(
    ("found", "online", "expected"),
    [
        (None, True, "not_enrolled"),
        (tablet(test=selftest(True)), False, "offline"),
        (tablet(), True, "selftest_missing"),
        (
            tablet(test=selftest(True, READY_WITHIN + dt.timedelta(seconds=1))),
            True,
            "selftest_missing",
        ),
        (tablet(test=selftest(False)), True, "selftest_failed:camera"),
        (tablet(test=selftest(True)), True, None),
    ],
)
def test_readiness_problem(found: Tablet | None, online: bool, expected: str | None) -> None:
    """The readiness API's verdict, strictest first."""
    assert problem(found, online, NOW) == expected


@pytest.mark.parametrize(
    ("found", "online", "expected"),
    [
        (None, False, InboxKind.TABLET_OFFLINE),
        (tablet(), False, InboxKind.TABLET_OFFLINE),
        (tablet(seen_ago=SEEN_RECENTLY), False, None),  # reconnecting: give it a moment
        (tablet(seen_ago=SEEN_RECENTLY + dt.timedelta(seconds=1)), False, InboxKind.TABLET_OFFLINE),
        (tablet(), True, None),  # no self-test yet is no reason to send someone out
        (tablet(test=selftest(False)), True, InboxKind.SELFTEST_FAILED),
    ],
)
def test_readiness_alert_before_a_visit(
    found: Tablet | None, online: bool, expected: InboxKind | None
) -> None:
    """The scheduler's gentler rule for warning the team before a screen visit."""
    assert alert_for(found, online, NOW) is expected
