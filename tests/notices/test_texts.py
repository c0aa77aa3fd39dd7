"""The words of notices and the rules of when they come (pure, no loop, no database)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from server.models.notices import NoticeKind
from server.notices import texts
from server.notices.rules import (
    Current,
    Known,
    change_of,
    due_reminder,
    late_due,
    reminder_horizon,
    visible,
)
from server.orgsettings import OrgSettings, Reminders, merged, read_settings
from server.vocabulary import Channel, Role, VisitStatus

CPH = ZoneInfo("Europe/Copenhagen")
NOW = dt.datetime(2026, 3, 23, 9, 0, tzinfo=dt.UTC)  # Monday 10:00 in Copenhagen
TODAY_1030 = dt.datetime(2026, 3, 23, 9, 30, tzinfo=dt.UTC)
TOMORROW_0800 = dt.datetime(2026, 3, 24, 7, 0, tzinfo=dt.UTC)
FRIDAY_0800 = dt.datetime(2026, 3, 27, 7, 0, tzinfo=dt.UTC)


def facts(
    at: dt.datetime = TODAY_1030,
    channel: Channel = Channel.SCREEN,
    name: str | None = "Anna Jensen",
    role: Role | None = Role.NURSE,
) -> texts.VisitFacts:
    return texts.VisitFacts(at, channel, "Medicin", "Medication", name, role)


@pytest.mark.parametrize(
    ("words", "da", "en"),
    [
        (
            texts.reminder(facts(TOMORROW_0800), NOW, CPH, soon=False),
            "Husk: Anna kommer på skærmen i morgen kl. 08:00 — medicin.",
            "Reminder: Anna will call on the screen tomorrow at 08:00 — medication.",
        ),
        (
            texts.reminder(facts(channel=Channel.PHYSICAL), NOW, CPH, soon=True),
            "Om lidt: Anna kommer på besøg i dag kl. 10:30 — medicin.",
            "Soon: Anna will visit you today at 10:30 — medication.",
        ),
        (
            texts.reminder(facts(FRIDAY_0800, name=None), NOW, CPH, soon=False),
            "Husk: Hjemmeplejen kommer på skærmen fredag d. 27. kl. 08:00 — medicin.",
            "Reminder: Home care will call on the screen Friday 27 March at 08:00 — medication.",
        ),
        (
            texts.moved(facts(), TOMORROW_0800, NOW, CPH),
            "Besøget er flyttet: Anna kommer på skærmen i dag kl. 10:30 — medicin"
            " (ikke i morgen kl. 08:00).",
            "The visit has moved: Anna will call on the screen today at 10:30 — medication"
            " (not tomorrow at 08:00).",
        ),
        (
            texts.reassigned(facts(name="Bo Hansen"), "Anna Jensen", NOW, CPH),
            "Der kommer en anden: Bo kommer på skærmen i dag kl. 10:30 — medicin (ikke Anna).",
            "Someone else is coming: Bo will call on the screen today at 10:30 — medication"
            " (not Anna).",
        ),
        (
            texts.reassigned(facts(name="Bo Hansen"), None, NOW, CPH),
            "Nu ved vi, hvem der kommer: Bo kommer på skærmen i dag kl. 10:30 — medicin.",
            "Now we know who: Bo will call on the screen today at 10:30 — medication.",
        ),
        (
            texts.late_by_staff(facts(), 10, TODAY_1030 + dt.timedelta(minutes=10), CPH),
            "Sygeplejerske Anna er forsinket ca. 10 minutter og ringer kl. 10:40.",
            "Nurse Anna is running about 10 minutes late and will call at 10:40.",
        ),
        (
            texts.late_by_staff(
                facts(channel=Channel.PHYSICAL, role=Role.CARER),
                20,
                TODAY_1030 + dt.timedelta(minutes=20),
                CPH,
            ),
            "Anna er forsinket ca. 20 minutter og kommer kl. 10:50.",
            "Anna is running about 20 minutes late and will come at 10:50.",
        ),
        (
            texts.late_window(facts(), CPH),
            "Hjemmeplejen er lidt forsinket med skærmbesøget kl. 10:30 — medicin. "
            "Du skal ikke gøre noget: vi ringer, så snart vi kan.",
            "Home care is running a little late with the screen visit at 10:30 — medication. "
            "You need not do anything: we will call as soon as we can.",
        ),
        (
            texts.cancelled(facts(TOMORROW_0800), NOW, CPH),
            "Skærmbesøget i morgen kl. 08:00 er aflyst — medicin.",
            "The screen visit tomorrow at 08:00 is cancelled — medication.",
        ),
    ],
)
def test_texts_plain_danish_and_english(words: texts.Words, da: str, en: str) -> None:
    """Each notice says who (first name), when (organisation's clock) and why, in both languages."""
    assert (words.da, words.en) == (da, en)


DEFAULT = Reminders()


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (dt.datetime(2026, 3, 23, 16, 59, tzinfo=dt.UTC), None),  # 17:59 the evening before
        (dt.datetime(2026, 3, 23, 17, 0, tzinfo=dt.UTC), "evening"),  # 18:00
        (dt.datetime(2026, 3, 24, 6, 29, tzinfo=dt.UTC), "evening"),  # 07:29 on the day
        (dt.datetime(2026, 3, 24, 6, 30, tzinfo=dt.UTC), "soon:30"),  # 07:30
        (dt.datetime(2026, 3, 24, 7, 0, tzinfo=dt.UTC), None),  # the visit's time
    ],
)
def test_rules_due_reminder_at_default_offsets(now: dt.datetime, expected: str | None) -> None:
    """The evening before at 18:00, then 30 minutes before; nothing once the time has come."""
    due = due_reminder(TOMORROW_0800, CPH, DEFAULT, now)
    assert (due.key if due else None) == expected


def test_rules_reminders_follow_the_organisation() -> None:
    """Off means none; other offsets are obeyed; the horizon covers tomorrow after the evening."""
    off = Reminders(enabled=False)
    assert due_reminder(TOMORROW_0800, CPH, off, TOMORROW_0800 - dt.timedelta(minutes=5)) is None
    own = Reminders(evening_before=None, minutes_before=[60, 15])
    at = TOMORROW_0800 - dt.timedelta(minutes=20)
    assert (due := due_reminder(TOMORROW_0800, CPH, own, at)) and due.key == "soon:60"
    evening = dt.datetime(2026, 3, 23, 17, 0, tzinfo=dt.UTC)
    assert reminder_horizon(evening, CPH, DEFAULT) == dt.datetime(2026, 3, 24, 23, 0, tzinfo=dt.UTC)
    assert reminder_horizon(NOW, CPH, DEFAULT) == dt.datetime(2026, 3, 23, 23, 0, tzinfo=dt.UTC)


A, B = 1, 2
P = VisitStatus.PLANNED


@pytest.mark.parametrize(
    ("known", "current", "expected"),
    [
        (Known(TODAY_1030, A, True), Current(TODAY_1030, A, P), None),
        (Known(TODAY_1030, A, True), Current(TODAY_1030, B, P), NoticeKind.REASSIGNED),
        (Known(TODAY_1030, A, False), Current(TODAY_1030, B, P), NoticeKind.REASSIGNED),
        (Known(TODAY_1030, A, True), Current(TODAY_1030, None, P), None),  # unassigned: no news
        (Known(TODAY_1030, A, True), Current(TOMORROW_0800, A, P), NoticeKind.MOVED),
        (Known(TODAY_1030, A, False), Current(TOMORROW_0800, A, P), None),  # before reminders
        (Known(TODAY_1030, A, True), Current(TODAY_1030, A, VisitStatus.CANCELLED), "cancelled"),
        (Known(TODAY_1030, A, False), Current(TODAY_1030, A, VisitStatus.CANCELLED), None),
        (Known(TODAY_1030, A, True), Current(TOMORROW_0800, B, VisitStatus.DONE), None),
    ],
)
def test_rules_change_of(known: Known, current: Current, expected: str | None) -> None:
    """A new person is news whenever watched; a new time or a cancellation after a reminder."""
    assert change_of(known, current) == expected


def test_rules_visible_and_late() -> None:
    """Under way: nothing shown; cancelled: only the cancellation; late from half the window."""
    assert visible(NoticeKind.LATE, VisitStatus.PLANNED)
    assert not visible(NoticeKind.LATE, VisitStatus.IN_CALL)
    assert visible(NoticeKind.CANCELLED, VisitStatus.CANCELLED)
    assert not visible(NoticeKind.REMINDER_SOON, VisitStatus.CANCELLED)
    assert not late_due(TODAY_1030, 15, TODAY_1030 + dt.timedelta(minutes=7))
    assert late_due(TODAY_1030, 15, TODAY_1030 + dt.timedelta(minutes=8))
    assert not late_due(TODAY_1030, 15, TODAY_1030 + dt.timedelta(minutes=15))


def test_rules_reminder_settings_survive_a_save_without_them() -> None:
    """A save without reminders (the admin form) keeps the stored ones; sending them sets them."""
    stored = {"reminders": {"enabled": False, "evening_before": None, "minutes_before": [60]}}
    form = OrgSettings.model_validate({"ring_timeout_s": 30})
    assert merged(stored, form)["reminders"] == stored["reminders"]
    sent = OrgSettings.model_validate({"reminders": {"minutes_before": [15]}})
    assert merged(stored, sent)["reminders"]["minutes_before"] == [15]
    assert read_settings(merged(None, form)).reminders == Reminders()
