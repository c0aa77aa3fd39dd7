"""Organisation settings and the audit log's CSV (pure)."""

from __future__ import annotations

import datetime as dt

from server.admin.auditlog import AuditRow, audit_csv
from server.orgsettings import OrgSettings, merged, read_settings

T0 = dt.datetime(2026, 3, 4, 8, 0, tzinfo=dt.UTC)


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
