"""The closed vocabularies have one source; the wire schema's literals are bound to it."""

from __future__ import annotations

import datetime as dt
from typing import get_args

import pytest
from pydantic import ValidationError

from server import vocabulary as v
from server.rooms import policy, registry
from server.scheduling import recurrence
from server.signaling import messages as m
from server.visits import status


def test_vocabulary_cores_share_the_enums() -> None:
    """The live-call core, the schedule core and the models use the very same enum classes."""
    from server import models

    for module, names in (
        (models, ("PeerKind", "CallState", "Role", "Channel", "VisitStatus")),
        (registry, ("PeerKind", "CallState", "EndReason")),
        (policy, ("Role",)),
        (recurrence, ("Channel",)),
        (status, ("VisitStatus", "EndReason", "OutcomeKind")),
    ):
        for name in names:
            assert getattr(module, name) is getattr(v, name), f"{module.__name__}.{name}"


def test_vocabulary_wire_peer_kinds_equal_the_enum() -> None:
    """A peer kind on the wire names exactly the members of its enum."""
    assert set(get_args(m.PeerKind)) == {member.value for member in v.PeerKind}


def test_vocabulary_wire_end_reasons_are_the_enum_less_the_recorded_only() -> None:
    """`call-ended` names every end reason except those only the database keeps (version 1)."""
    assert set(get_args(m.EndReason)) == {r.value for r in v.EndReason if r not in v.RECORDED_ONLY}


@pytest.mark.parametrize("reason", list(v.EndReason))
def test_vocabulary_every_end_reason_fits_call_ended(reason: v.EndReason) -> None:
    """Every end reason, the recorded-only ones mapped, can be sent in a `call-ended`."""
    from server.signaling.calls import wire_reason

    message = m.CallEnded(call_id="c1", reason=wire_reason(reason))
    expected = "connection_lost" if reason in v.RECORDED_ONLY else reason.value
    assert message.reason == expected


def test_vocabulary_wire_subsets_name_members() -> None:
    """The wire's call phases and leave reasons are some of the enums' members."""
    assert set(get_args(m.CallPhase)) <= {s.value for s in v.CallState}
    assert set(get_args(m.LeaveReason)) <= {r.value for r in v.EndReason}


@pytest.mark.parametrize("visit_status", list(v.VisitStatus))
def test_vocabulary_every_visit_status_fits_visit_updated(visit_status: v.VisitStatus) -> None:
    """Every stored visit status can be announced in a `visit-updated`."""
    message = m.VisitUpdated(visit_id="1", citizen_id="2", team_id="3", status=visit_status.value)
    assert message.status == visit_status.value


@pytest.mark.parametrize("kind", list(v.InboxKind))
def test_vocabulary_every_alert_kind_fits_alert(kind: v.InboxKind) -> None:
    """Every alert kind can be pushed in an `alert` message."""
    message = m.AlertMessage(
        alert_id="1", team_id="2", kind=kind.value, message="x", created_at=dt.datetime.now(dt.UTC)
    )
    assert message.kind == kind.value


def test_vocabulary_wire_refuses_other_words() -> None:
    """Outside the vocabulary the wire schema refuses the message."""
    with pytest.raises(ValidationError):
        m.CallEnded.model_validate({"call_id": "c1", "reason": "exploded"})
