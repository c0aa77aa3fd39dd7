"""What the call list shows for a visit (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from server.admin.auditlog import AuditRow, audit_csv
from server.models import VisitStatus
from server.orgsettings import OrgSettings, merged, read_settings
from server.visits.status import ListStatus, Window, list_status

T0 = dt.datetime(2026, 3, 4, 8, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("stored", "minutes_from_plan", "expected"),
    [
        (VisitStatus.PLANNED, -16, ListStatus.PLANNED),
        (VisitStatus.PLANNED, -15, ListStatus.DUE),
        (VisitStatus.PLANNED, 15, ListStatus.DUE),
        (VisitStatus.PLANNED, 16, ListStatus.LATE),
        (VisitStatus.RINGING, 0, ListStatus.RINGING),
        (VisitStatus.IN_CALL, 0, ListStatus.IN_CALL),
        (VisitStatus.DONE, 99, ListStatus.DONE),
        (VisitStatus.NOT_ANSWERED, 99, ListStatus.NOT_ANSWERED),
        (VisitStatus.MISSED, 99, ListStatus.ESCALATED),
        (VisitStatus.CANCELLED, -99, ListStatus.CANCELLED),
    ],
)
def test_status_from_stored_state_and_clock(
    stored: VisitStatus, minutes_from_plan: int, expected: ListStatus
) -> None:
    """Planned before the window, due inside it, late after it; stored states win."""
    now = T0 + dt.timedelta(minutes=minutes_from_plan)
    assert list_status(stored, Window(T0, 15), now) is expected


def test_status_settings_defaults_and_foreign_keys_kept() -> None:
    """Unset settings get defaults; saving keeps keys other features store in the same JSON."""
    assert read_settings({"call_back_button": True}) == OrgSettings()
    stored = merged({"call_back_button": True}, OrgSettings(ring_timeout_s=30))
    assert stored["call_back_button"] is True and stored["ring_timeout_s"] == 30


def test_status_audit_csv_neutralises_formulas() -> None:
    """A cell that a spreadsheet would run as a formula is prefixed with a quote."""
    row = AuditRow(
        id=1,
        at=T0,
        actor="=cmd()",
        action="x",
        subject_kind=None,
        subject_id=None,
        detail={},
        remote=None,
    )
    assert "'=cmd()" in audit_csv([row])
