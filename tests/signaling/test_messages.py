"""Tests for server.signaling.messages: the wire protocol in code."""

from __future__ import annotations

import ast
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from server.signaling import messages as m
from server.signaling.messages import (
    ErrorCode,
    MessageError,
    client_message,
    parse_client_message,
    server_message,
    signaling_json_schema,
)

MODULE = Path(m.__file__)
PROTOCOL = MODULE.with_name("PROTOCOL.md")
TOKEN = "t" * 32
SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"
CANDIDATE = {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host", "sdpMid": "0"}


def frame(**fields: Any) -> str:
    """A client text frame."""
    return json.dumps(fields)


VALID_CLIENT = [
    (frame(type="hello", version=["1"]), m.Hello),
    (frame(type="hello", version=["2", "1"], token=TOKEN, agent="screenvisit-kiosk/0.1"), m.Hello),
    (frame(type="hello", version=["1"], invite=TOKEN), m.Hello),
    (frame(type="hello", version=["1"], resume={"call_id": "c1", "resume_token": TOKEN}), m.Hello),
    (frame(type="ping", id=7), m.Ping),
    (frame(type="presence-subscribe", citizen_ids=["cit-1", "cit-2"]), m.PresenceSubscribe),
    (frame(type="presence-subscribe", citizen_ids=[]), m.PresenceSubscribe),
    (frame(type="ring", citizen_id="cit-1"), m.Ring),
    (frame(type="ring", citizen_id="cit-1", visit_id="v-9", id=1), m.Ring),
    (frame(type="accept", call_id="c1"), m.Accept),
    (frame(type="decline", call_id="c1"), m.Decline),
    (frame(type="cancel", call_id="c1"), m.Cancel),
    (frame(type="invite", call_id="c1", user_id="u-2"), m.Invite),
    (frame(type="offer", call_id="c1", to="p2", sdp=SDP), m.Offer),
    (frame(type="answer", call_id="c1", to="p2", sdp=SDP), m.Answer),
    (frame(type="candidate", call_id="c1", to="p2", candidate=CANDIDATE), m.Candidate),
    (frame(type="candidate", call_id="c1", to="p2", candidate=None), m.Candidate),
    (frame(type="candidate", call_id="c1", to="p2", candidate={"candidate": ""}), m.Candidate),
    (frame(type="hangup", call_id="c1"), m.Hangup),
]


@pytest.mark.parametrize(("data", "cls"), VALID_CLIENT)
def test_parse_valid_client_message(data: str, cls: type[BaseModel]) -> None:
    """Every well-formed client message parses to its model."""
    assert type(parse_client_message(data)) is cls


INVALID_CLIENT = [
    ("not json", ErrorCode.INVALID_MESSAGE),
    ("[1, 2]", ErrorCode.INVALID_MESSAGE),
    (frame(id=3), ErrorCode.INVALID_MESSAGE),
    (frame(type="dance"), ErrorCode.UNKNOWN_TYPE),
    (frame(type="welcome"), ErrorCode.UNKNOWN_TYPE),
    (frame(type=5), ErrorCode.UNKNOWN_TYPE),
    (frame(type="ping", extra=1), ErrorCode.INVALID_MESSAGE),
    (frame(type="ping", id="5"), ErrorCode.INVALID_MESSAGE),
    (frame(type="ping", id=True), ErrorCode.INVALID_MESSAGE),
    (frame(type="ping", id=-1), ErrorCode.INVALID_MESSAGE),
    (frame(type="ping", id=2**53), ErrorCode.INVALID_MESSAGE),
    (frame(type="hello", version=[]), ErrorCode.INVALID_MESSAGE),
    (frame(type="hello", version="1"), ErrorCode.INVALID_MESSAGE),
    (frame(type="hello", version=["1"], token="short"), ErrorCode.INVALID_MESSAGE),
    (frame(type="hello", version=["1"], token=TOKEN, invite=TOKEN), ErrorCode.INVALID_MESSAGE),
    (frame(type="ring"), ErrorCode.INVALID_MESSAGE),
    (frame(type="ring", citizen_id=""), ErrorCode.INVALID_MESSAGE),
    (frame(type="ring", citizen_id="x" * 65), ErrorCode.INVALID_MESSAGE),
    (frame(type="ring", citizen_id="a b"), ErrorCode.INVALID_MESSAGE),
    (frame(type="ring", citizen_id="<script>"), ErrorCode.INVALID_MESSAGE),
    (frame(type="presence-subscribe", citizen_ids=["c"] * 501), ErrorCode.INVALID_MESSAGE),
    (frame(type="offer", call_id="c1", to="p2", sdp=""), ErrorCode.INVALID_MESSAGE),
    (
        frame(type="offer", call_id="c1", to="p2", sdp="x" * (32 * 1024 + 1)),
        ErrorCode.INVALID_MESSAGE,
    ),
    (frame(type="offer", call_id="c1", sdp=SDP), ErrorCode.INVALID_MESSAGE),
    (
        frame(type="offer", call_id="c1", to="p2", sdp=SDP, **{"from": "p1"}),
        ErrorCode.INVALID_MESSAGE,
    ),
    (frame(type="candidate", call_id="c1", to="p2"), ErrorCode.INVALID_MESSAGE),
    (
        frame(type="candidate", call_id="c1", to="p2", candidate={"candidate": "c" * 1025}),
        ErrorCode.INVALID_MESSAGE,
    ),
    (
        frame(type="candidate", call_id="c1", to="p2", candidate={**CANDIDATE, "foo": 1}),
        ErrorCode.INVALID_MESSAGE,
    ),
]


@pytest.mark.parametrize(("data", "code"), INVALID_CLIENT)
def test_parse_invalid_client_message(data: str, code: ErrorCode) -> None:
    """Malformed frames raise MessageError with the documented stable code."""
    with pytest.raises(MessageError) as caught:
        parse_client_message(data)
    assert caught.value.code is code


@pytest.mark.parametrize(
    ("data", "ref"),
    [
        (frame(type="dance", id=42), 42),
        (frame(type="ring", id=9), 9),
        (frame(type="ring", id="9"), None),
        (frame(type="ring", id=True), None),
        (frame(type="ring", id=-3), None),
        ("[1]", None),
        ("{", None),
    ],
)
def test_error_carries_client_id_as_ref(data: str, ref: int | None) -> None:
    """A usable client `id` comes back as the error's `ref`."""
    with pytest.raises(MessageError) as caught:
        parse_client_message(data)
    error = caught.value.to_error()
    assert (error.type, error.ref, error.code) == ("error", ref, caught.value.code)


def test_error_message_never_echoes_values() -> None:
    """Validation messages name fields, not the (possibly secret) values sent."""
    secret = "ice-pwd:supersecretvalue"
    with pytest.raises(MessageError) as caught:
        parse_client_message(frame(type="offer", call_id="c1", to="p 2", sdp=secret, x=secret))
    assert secret not in caught.value.message
    assert "offer.to" in caught.value.message


def test_unknown_type_message_is_generic() -> None:
    """The unknown-type reply does not reflect the client's type string."""
    with pytest.raises(MessageError) as caught:
        parse_client_message(frame(type="<img src=x>"))
    assert caught.value.message == "unknown message type"
    assert str(caught.value) == "unknown_type: unknown message type"


def test_candidate_null_means_end_of_candidates() -> None:
    """`candidate: null` parses and survives relaying; it is not dropped as a default."""
    parsed = parse_client_message(frame(type="candidate", call_id="c1", to="p2", candidate=None))
    assert isinstance(parsed, m.Candidate)
    relayed = m.RelayedCandidate(call_id="c1", from_="p1", candidate=parsed.candidate)
    assert json.loads(relayed.model_dump_json()) == {
        "type": "candidate",
        "call_id": "c1",
        "from": "p1",
        "candidate": None,
    }


def test_client_messages_are_frozen() -> None:
    """Parsed messages cannot be altered by a handler."""
    parsed = parse_client_message(frame(type="ring", citizen_id="cit-1"))
    assert isinstance(parsed, m.Ring)
    with pytest.raises(ValidationError):
        parsed.citizen_id = "cit-2"  # type: ignore[misc]


def test_client_message_round_trip() -> None:
    """A client message serialises without a null id and parses back equal (kiosk agent use)."""
    hello = m.Hello(version=("1",), token=TOKEN)
    data = hello.model_dump_json(exclude_none=True)
    assert "id" not in json.loads(data)
    assert client_message.validate_json(data) == hello


AWARE = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)
PEER = m.PeerInfo(peer_id="p1", kind="staff", name="Anna Jensen", role="nurse")
ICE = m.IceServer(urls=("turns:turn.example.dk:5349",), username="1:p1", credential="x")

SERVER_MESSAGES: list[BaseModel] = [
    m.Welcome(
        version="1",
        peer_id="p1",
        identity=m.Identity(kind="kiosk", id="k1", name="Tablet", citizen_id="cit-1"),
        ice_servers=(ICE,),
        heartbeat_s=30,
        ring_timeout_s=45,
        resume_grace_s=30,
        resume_token=TOKEN,
        resumable=("c1",),
    ),
    m.Pong(ref=7),
    m.Error(code=ErrorCode.ROOM_FULL, message="6 seats taken", ref=3),
    m.Presence(entries=(m.PresenceEntry(citizen_id="cit-1", online=False, last_seen=AWARE),)),
    m.CallSnapshot(
        call_id="c1",
        citizen_id="cit-1",
        state="active",
        you="p1",
        peers=(PEER,),
        max_participants=6,
        ice_servers=(ICE,),
    ),
    m.IncomingRing(
        call_id="c1",
        citizen_id="cit-1",
        caller=PEER.model_copy(update={"photo_url": "/api/staff/u1/photo"}),
        visit_id="v1",
        visit_type="medication",
        auto_answer_after_s=10,
        expires_in_s=45,
    ),
    m.Invited(call_id="c1", citizen_id="cit-1", by=PEER, expires_in_s=45),
    m.InviteEnded(call_id="c1", user_id="u2", reason="declined"),
    m.PeerJoined(call_id="c1", peer=PEER),
    m.PeerLeft(call_id="c1", peer_id="p1", reason="hangup"),
    m.PeerDisconnected(call_id="c1", peer_id="p1", grace_s=30),
    m.PeerReconnected(call_id="c1", old_peer_id="p1", peer=PEER),
    m.CallEnded(call_id="c1", reason="no_answer"),
    m.RelayedOffer(call_id="c1", from_="p1", sdp=SDP),
    m.RelayedAnswer(call_id="c1", from_="p1", sdp=SDP),
    m.RelayedCandidate(
        call_id="c1", from_="p1", candidate=m.IceCandidate.model_validate(CANDIDATE)
    ),
]


@pytest.mark.parametrize("message", SERVER_MESSAGES, ids=lambda msg: type(msg).__name__)
def test_server_message_round_trip(message: BaseModel) -> None:
    """Every server message serialises to JSON that server_message parses back equal."""
    assert server_message.validate_json(message.model_dump_json()) == message


def test_relayed_messages_use_from_on_the_wire() -> None:
    """The stamped sender is serialised as `from`, never `from_`."""
    data = json.loads(m.RelayedOffer(call_id="c1", from_="p1", sdp=SDP).model_dump_json())
    assert data["from"] == "p1" and "from_" not in data


def test_unsolicited_server_message_omits_ref() -> None:
    """`ref` appears only on replies."""
    assert json.loads(m.Pong().model_dump_json()) == {"type": "pong"}
    assert json.loads(m.Pong(ref=0).model_dump_json()) == {"type": "pong", "ref": 0}


@pytest.mark.parametrize(
    ("cls", "fields"),
    [
        (m.PresenceEntry, {"citizen_id": "c", "online": True, "last_seen": datetime(2025, 1, 1)}),
        (m.IceServer, {"urls": ["http://turn.example.dk"]}),
        (m.IceServer, {"urls": []}),
        (m.PeerInfo, {"peer_id": "p", "kind": "robot", "name": "R"}),
        (m.PeerInfo, {"peer_id": "p", "kind": "staff", "name": "A", "role": "Head Nurse"}),
        (
            m.IncomingRing,
            {
                "call_id": "c",
                "citizen_id": "c",
                "caller": PEER,
                "expires_in_s": 45,
                "auto_answer_after_s": 0,
            },
        ),
    ],
)
def test_server_models_reject_bad_values(cls: type[BaseModel], fields: dict[str, Any]) -> None:
    """Server-built messages are validated too: naive times, bad URLs, unknown kinds."""
    with pytest.raises(ValidationError):
        cls.model_validate(fields)


def test_required_error_codes_exist() -> None:
    """The stable error codes promised by the issue and PROTOCOL.md are all defined."""
    required = {
        "invalid_message",
        "unknown_type",
        "not_authenticated",
        "forbidden",
        "unknown_peer",
        "unknown_call",
        "room_full",
        "invalid_state",
        "not_member",
        "rate_limited",
        "internal_error",
    }
    assert required <= {code.value for code in ErrorCode}


def type_tags(adapter: Any) -> set[str]:
    """The `type` values of a discriminated-union adapter."""
    schema = adapter.json_schema()
    return set(schema["discriminator"]["mapping"])


def test_schema_lists_every_message() -> None:
    """The JSON Schema covers every client and server message type."""
    schema = signaling_json_schema()
    for name, adapter in (("ClientMessage", client_message), ("ServerMessage", server_message)):
        assert set(schema["$defs"][name]["discriminator"]["mapping"]) == type_tags(adapter)


def test_schema_refs_resolve_and_serialise() -> None:
    """Every $ref points into $defs and the schema is plain JSON."""
    schema = signaling_json_schema()
    text = json.dumps(schema)
    refs = set(re.findall(r'"\$ref": "#/\$defs/([^"]+)"', text))
    assert refs and refs <= set(schema["$defs"])
    assert schema["$id"].endswith(":1")


def test_protocol_document_mentions_every_type() -> None:
    """PROTOCOL.md documents every message type the code knows (they change together)."""
    document = PROTOCOL.read_text(encoding="utf-8")
    tags = type_tags(client_message) | type_tags(server_message)
    missing = sorted(tag for tag in tags if f"`{tag}`" not in document)
    assert missing == []


def test_protocol_document_mentions_every_error_code() -> None:
    """PROTOCOL.md documents every stable error code."""
    document = PROTOCOL.read_text(encoding="utf-8")
    assert [code for code in ErrorCode if f"`{code}`" not in document] == []


def test_module_imports_only_stdlib_and_pydantic() -> None:
    """The kiosk agent can import the schema without the server's dependencies."""
    tree = ast.parse(MODULE.read_text(encoding="utf-8"))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    roots = {name.split(".")[0] for name in imported}
    assert roots - set(sys.stdlib_module_names) <= {"pydantic"}
