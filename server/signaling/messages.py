"""The signalling wire protocol, version 1, as pydantic models; PROTOCOL.md is the prose twin.

This module imports only the standard library and pydantic, because the headless kiosk agent
imports it on its own, without the server application.
"""

from __future__ import annotations

import json
from enum import IntEnum, StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_serializer,
    model_validator,
)

PROTOCOL_VERSION = "1"
SUPPORTED_VERSIONS: tuple[str, ...] = (PROTOCOL_VERSION,)
MAX_FRAME_BYTES = 64 * 1024
MAX_SDP_CHARS = 32 * 1024
MAX_CANDIDATE_CHARS = 1024
MAX_ID_CHARS = 64
HELLO_TIMEOUT_S = 10
MAX_CORRELATION_ID = 2**53 - 1  # the largest integer a JavaScript number holds exactly


class ErrorCode(StrEnum):
    """Stable error codes carried by `error` messages; never renamed, only added."""

    INVALID_MESSAGE = "invalid_message"
    UNKNOWN_TYPE = "unknown_type"
    NOT_AUTHENTICATED = "not_authenticated"
    FORBIDDEN = "forbidden"
    UNSUPPORTED_VERSION = "unsupported_version"
    UNKNOWN_PEER = "unknown_peer"
    UNKNOWN_CALL = "unknown_call"
    ROOM_FULL = "room_full"
    INVALID_STATE = "invalid_state"
    NOT_MEMBER = "not_member"
    OFFLINE = "offline"
    BUSY = "busy"
    RATE_LIMITED = "rate_limited"
    UNKNOWN_GUEST = "unknown_guest"
    TRY_AGAIN = "try_again"
    INTERNAL_ERROR = "internal_error"


class CloseCode(IntEnum):
    """WebSocket close codes the server uses (RFC 6455 §7.4 plus one private code)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    TRY_AGAIN_LATER = 1013
    REPLACED = 4001


Id = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_ID_CHARS, pattern=r"^[A-Za-z0-9_.:-]+$")
]
Token = Annotated[str, StringConstraints(min_length=16, max_length=512)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Label = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
Url = Annotated[str, StringConstraints(min_length=1, max_length=2048)]
IceUrl = Annotated[
    str, StringConstraints(max_length=512, pattern=r"^(stun|stuns|turn|turns):[^\s]+$")
]
Sdp = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SDP_CHARS)]
CorrelationId = Annotated[int, Field(ge=0, le=MAX_CORRELATION_ID)]
Seconds = Annotated[int, Field(ge=0, le=86_400)]
PeerKind = Literal["staff", "kiosk", "guest"]
CallPhase = Literal["ringing", "active"]
LeaveReason = Literal["hangup", "connection_lost"]
EndReason = Literal["hangup", "declined", "cancelled", "no_answer", "connection_lost"]
InviteEndReason = Literal["accepted", "declined", "timeout", "cancelled", "busy"]
LobbyLeaveReason = Literal["admitted", "denied", "left"]


def _items(max_length: int) -> Any:
    """Field for a bounded tuple; non-strict so the server may build it from a list."""
    return Field(default=(), strict=False, max_length=max_length)


def _without_null(data: dict[str, Any], key: str) -> dict[str, Any]:
    """`data` without `key` when its value is None."""
    if data.get(key, 0) is None:
        del data[key]
    return data


class _Struct(BaseModel):
    """Base of every wire object: unknown fields are errors, values are immutable."""

    # strict: JSON "5" is not the number 5, and "true" is not a boolean.
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


class _ClientMessage(_Struct):
    """A message a client sends; `id` is echoed back as `ref` in the reply."""

    id: CorrelationId | None = None

    @model_serializer(mode="wrap")
    def _drop_null_id(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Omit `id` when unset, as clients do."""
        return _without_null(handler(self), "id")


class _ServerMessage(_Struct):
    """A message the server sends; `ref` is the `id` of the client message it answers."""

    ref: CorrelationId | None = None

    @model_serializer(mode="wrap")
    def _drop_null_ref(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Omit `ref` on unsolicited messages; other nulls (end of candidates) must stay."""
        return _without_null(handler(self), "ref")


# -- shared structures -------------------------------------------------------------------------


class IceCandidate(_Struct):
    """An ICE candidate, shaped like the W3C RTCIceCandidateInit so browsers pass it straight on."""

    candidate: Annotated[str, StringConstraints(max_length=MAX_CANDIDATE_CHARS)]
    sdpMid: Annotated[str, StringConstraints(max_length=32)] | None = None
    sdpMLineIndex: Annotated[int, Field(ge=0, le=255)] | None = None
    usernameFragment: Annotated[str, StringConstraints(max_length=256)] | None = None


class IceServer(_Struct):
    """One entry of RTCConfiguration.iceServers, with minted TURN credentials."""

    urls: tuple[IceUrl, ...] = Field(strict=False, min_length=1, max_length=8)
    username: Annotated[str, StringConstraints(max_length=256)] | None = None
    credential: Annotated[str, StringConstraints(max_length=256)] | None = None


class ResumeRequest(_Struct):
    """What a reconnecting client presents to take its old place in a call."""

    call_id: Id
    resume_token: Token


class Identity(_Struct):
    """Who the server authenticated this socket as."""

    kind: PeerKind
    id: Id
    name: Name
    role: Label | None = None
    citizen_id: Id | None = None  # kiosks only: the citizen the tablet belongs to


class PeerInfo(_Struct):
    """A participant as other participants see it."""

    peer_id: Id
    kind: PeerKind
    name: Name
    role: Label | None = None
    photo_url: Url | None = None
    connected: bool = True
    # A relative ringing from her call link: how she is related to the citizen ("datter").
    # Only sent when set, so every other peer looks as before.
    relation: Name | None = None

    @model_serializer(mode="wrap")
    def _drop_null_relation(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Omit ``relation`` for everyone but a ringing relative."""
        return _without_null(handler(self), "relation")


class PresenceEntry(_Struct):
    """Whether a citizen's kiosk is online, when it was last seen and whether it is in a call."""

    citizen_id: Id
    online: bool
    last_seen: AwareDatetime | None = None
    in_call: bool = False
    # Whether the tablet can ring aloud now; null while offline or when it never said (old kiosks).
    sound: bool | None = None


# -- client → server ---------------------------------------------------------------------------


class Hello(_ClientMessage):
    """First message on every socket: protocol versions, credentials, optional resume."""

    type: Literal["hello"] = "hello"
    version: tuple[Annotated[str, StringConstraints(min_length=1, max_length=16)], ...] = Field(
        strict=False, min_length=1, max_length=8
    )
    token: Token | None = None
    invite: Token | None = None
    link: Token | None = None  # a relative's personal call link (/r/<token>)
    name: Name | None = None  # guests only: the name they gave on the join page
    resume: ResumeRequest | None = None
    agent: Annotated[str, StringConstraints(max_length=200)] | None = None

    @model_validator(mode="after")
    def _one_credential(self) -> Hello:
        """A device token, a guest invite token and a call link never come together."""
        if sum(c is not None for c in (self.token, self.invite, self.link)) > 1:
            raise ValueError("send one of token, invite or link")
        if self.name is not None and self.invite is None:
            raise ValueError("name comes only with invite")
        return self


class Ping(_ClientMessage):
    """Application-level round-trip probe; the server answers `pong` at once."""

    type: Literal["ping"] = "ping"


class PresenceSubscribe(_ClientMessage):
    """Replace the set of citizens whose kiosk presence this staff socket follows."""

    type: Literal["presence-subscribe"] = "presence-subscribe"
    citizen_ids: tuple[Id, ...] = _items(500)


class Ring(_ClientMessage):
    """Staff asks to call a citizen's kiosk."""

    type: Literal["ring"] = "ring"
    citizen_id: Id
    visit_id: Id | None = None


class Accept(_ClientMessage):
    """The kiosk answers a ring, or an invited colleague accepts an invitation."""

    type: Literal["accept"] = "accept"
    call_id: Id


class Decline(_ClientMessage):
    """The kiosk declines a ring, or an invited colleague declines an invitation."""

    type: Literal["decline"] = "decline"
    call_id: Id


class Cancel(_ClientMessage):
    """The caller withdraws a ring before it is answered."""

    type: Literal["cancel"] = "cancel"
    call_id: Id


class Invite(_ClientMessage):
    """A staff participant asks an online colleague (by user id) into the call."""

    type: Literal["invite"] = "invite"
    call_id: Id
    user_id: Id


class Offer(_ClientMessage):
    """SDP offer for one peer of the call; also used for ICE restarts."""

    type: Literal["offer"] = "offer"
    call_id: Id
    to: Id
    sdp: Sdp


class Answer(_ClientMessage):
    """SDP answer to an offer from `to`."""

    type: Literal["answer"] = "answer"
    call_id: Id
    to: Id
    sdp: Sdp


class Candidate(_ClientMessage):
    """A trickled ICE candidate for `to`; null means end of candidates."""

    type: Literal["candidate"] = "candidate"
    call_id: Id
    to: Id
    candidate: IceCandidate | None


class DeviceState(_ClientMessage):
    """Kiosk only: whether the tablet can ring aloud and sends (or could send) picture and sound."""

    type: Literal["device-state"] = "device-state"
    sound: bool
    camera: bool
    microphone: bool


class Admit(_ClientMessage):
    """A host lets a guest in from the lobby."""

    type: Literal["admit"] = "admit"
    lobby_id: Id


class Deny(_ClientMessage):
    """A host turns a waiting guest away."""

    type: Literal["deny"] = "deny"
    lobby_id: Id


class Remove(_ClientMessage):
    """A host takes a guest out of the call."""

    type: Literal["remove"] = "remove"
    call_id: Id
    peer_id: Id


class Hangup(_ClientMessage):
    """Leave the call; when the kiosk or the last staff member hangs up, the call ends."""

    type: Literal["hangup"] = "hangup"
    call_id: Id


ClientMessage = Annotated[
    Hello
    | Ping
    | PresenceSubscribe
    | Ring
    | Accept
    | Decline
    | Cancel
    | Invite
    | Offer
    | Answer
    | Candidate
    | Hangup
    | DeviceState
    | Admit
    | Deny
    | Remove,
    Field(discriminator="type"),
]
client_message: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)


# -- server → client ---------------------------------------------------------------------------


class CallSnapshot(_ServerMessage):
    """The whole state of a call, sent when a socket enters it or the call changes phase."""

    type: Literal["call-state"] = "call-state"
    call_id: Id
    citizen_id: Id
    visit_id: Id | None = None
    visit_type: Label | None = None
    state: CallPhase
    you: Id
    peers: tuple[PeerInfo, ...] = _items(16)
    max_participants: Annotated[int, Field(ge=2, le=16)]
    ice_servers: tuple[IceServer, ...] = _items(8)


class Welcome(_ServerMessage):
    """Reply to `hello`: the socket is authenticated and has a peer id."""

    type: Literal["welcome"] = "welcome"
    version: str
    peer_id: Id
    identity: Identity
    ice_servers: tuple[IceServer, ...] = _items(8)
    heartbeat_s: Annotated[float, Field(gt=0, le=3600)]
    ring_timeout_s: Seconds
    resume_grace_s: Seconds
    resume_token: Token
    resumed: CallSnapshot | None = None
    resumable: tuple[Id, ...] = _items(16)


class Pong(_ServerMessage):
    """Answer to `ping`."""

    type: Literal["pong"] = "pong"


class Error(_ServerMessage):
    """A request failed; `code` is stable, `message` is for humans and logs."""

    type: Literal["error"] = "error"
    code: ErrorCode
    message: Annotated[str, StringConstraints(max_length=500)] = ""


class Presence(_ServerMessage):
    """Kiosk presence: a snapshot after `presence-subscribe`, then one entry per change."""

    type: Literal["presence"] = "presence"
    entries: tuple[PresenceEntry, ...] = _items(500)


class IncomingRing(_ServerMessage):
    """Sent to the kiosk: someone is calling; answer with `accept` or `decline`."""

    type: Literal["ring"] = "ring"
    call_id: Id
    citizen_id: Id
    caller: PeerInfo
    visit_id: Id | None = None
    visit_type: Label | None = None
    camera_off: bool = False
    auto_answer_after_s: Annotated[int, Field(ge=1, le=120)] | None = None
    expires_in_s: Seconds
    ice_servers: tuple[IceServer, ...] = _items(8)


class Invited(_ServerMessage):
    """Sent to every socket of an invited colleague; answer with `accept` or `decline`."""

    type: Literal["invited"] = "invited"
    call_id: Id
    citizen_id: Id
    by: PeerInfo
    visit_id: Id | None = None
    visit_type: Label | None = None
    expires_in_s: Seconds


class InviteEnded(_ServerMessage):
    """An invitation is over: to the participants and the invitee's other sockets."""

    type: Literal["invite-ended"] = "invite-ended"
    call_id: Id
    user_id: Id
    reason: InviteEndReason


class PeerJoined(_ServerMessage):
    """A peer entered the call; it will send you an offer."""

    type: Literal["peer-joined"] = "peer-joined"
    call_id: Id
    peer: PeerInfo


class PeerLeft(_ServerMessage):
    """A peer left the call; close your connection to it."""

    type: Literal["peer-left"] = "peer-left"
    call_id: Id
    peer_id: Id
    reason: LeaveReason


class PeerDisconnected(_ServerMessage):
    """A peer's socket dropped; its place is kept for `grace_s` seconds."""

    type: Literal["peer-disconnected"] = "peer-disconnected"
    call_id: Id
    peer_id: Id
    grace_s: Seconds


class PeerReconnected(_ServerMessage):
    """A peer resumed under a new peer id; drop the old connection, expect its offer."""

    type: Literal["peer-reconnected"] = "peer-reconnected"
    call_id: Id
    old_peer_id: Id
    peer: PeerInfo


class PeerState(_ServerMessage):
    """Staff only: a participant's devices (the tablet's camera, microphone and ring tone)."""

    type: Literal["peer-state"] = "peer-state"
    call_id: Id
    peer_id: Id
    camera: bool
    microphone: bool
    sound: bool


class CallEnded(_ServerMessage):
    """The call is over for everybody."""

    type: Literal["call-ended"] = "call-ended"
    call_id: Id
    reason: EndReason
    by: Id | None = None


class RelayedOffer(_ServerMessage):
    """An `offer` relayed by the server, which stamped the sender in `from`."""

    type: Literal["offer"] = "offer"
    call_id: Id
    from_: Id = Field(alias="from")
    sdp: Sdp


class RelayedAnswer(_ServerMessage):
    """An `answer` relayed by the server, which stamped the sender in `from`."""

    type: Literal["answer"] = "answer"
    call_id: Id
    from_: Id = Field(alias="from")
    sdp: Sdp


class RelayedCandidate(_ServerMessage):
    """A `candidate` relayed by the server, which stamped the sender in `from`."""

    type: Literal["candidate"] = "candidate"
    call_id: Id
    from_: Id = Field(alias="from")
    candidate: IceCandidate | None


class AlertMessage(_ServerMessage):
    """Staff only: something the team must see now (missed visit, tablet offline, …)."""

    type: Literal["alert"] = "alert"
    alert_id: Id
    team_id: Id
    citizen_id: Id | None = None
    visit_id: Id | None = None
    kind: Label
    message: Annotated[str, StringConstraints(max_length=500)]
    created_at: AwareDatetime


class InboxChanged(_ServerMessage):
    """Staff only: an item of a team's inbox was added or changed state (reload the inbox)."""

    type: Literal["inbox-changed"] = "inbox-changed"
    item_id: Id
    team_id: Id
    state: Label


class VisitUpdated(_ServerMessage):
    """Staff only: a visit on a team's list changed status (the call list updates live)."""

    type: Literal["visit-updated"] = "visit-updated"
    visit_id: Id
    citizen_id: Id
    team_id: Id
    status: Label


class Knock(_ServerMessage):
    """Staff only: a guest waits in the lobby of this call's meeting."""

    type: Literal["knock"] = "knock"
    lobby_id: Id
    visit_id: Id
    call_id: Id | None = None
    invite_id: Id
    name: Name  # the name the guest gave
    invited_as: Name  # the name on the invite
    kind: Label  # relative or guest
    another_device: bool  # the invite was first used on another device


class LobbyLeft(_ServerMessage):
    """Staff only: a guest is no longer waiting (admitted, denied, or gone)."""

    type: Literal["lobby-left"] = "lobby-left"
    lobby_id: Id
    reason: LobbyLeaveReason


class Admitted(_ServerMessage):
    """Guests only: the host let you in; `call-state` follows, then offer to everybody."""

    type: Literal["admitted"] = "admitted"
    call_id: Id


class Denied(_ServerMessage):
    """Guests only: the host did not let you in; the server closes the socket."""

    type: Literal["denied"] = "denied"


class Removed(_ServerMessage):
    """Guests only: the host took you out of the call; the server closes the socket."""

    type: Literal["removed"] = "removed"
    call_id: Id


ServerMessage = Annotated[
    Welcome
    | Pong
    | Error
    | Presence
    | CallSnapshot
    | IncomingRing
    | Invited
    | InviteEnded
    | PeerJoined
    | PeerLeft
    | PeerDisconnected
    | PeerReconnected
    | PeerState
    | CallEnded
    | RelayedOffer
    | RelayedAnswer
    | RelayedCandidate
    | AlertMessage
    | InboxChanged
    | VisitUpdated
    | Knock
    | LobbyLeft
    | Admitted
    | Denied
    | Removed,
    Field(discriminator="type"),
]
server_message: TypeAdapter[ServerMessage] = TypeAdapter(ServerMessage)


# -- parsing and schema ------------------------------------------------------------------------


class MessageError(Exception):
    """A client frame could not be turned into a message; reply with an `error`."""

    def __init__(self, code: ErrorCode, message: str, ref: int | None = None) -> None:
        super().__init__(code, message, ref)
        self.code = code
        self.message = message
        self.ref = ref

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def to_error(self) -> Error:
        """The `error` message to send back."""
        return Error(code=self.code, message=self.message, ref=self.ref)


def parse_client_message(data: str | bytes) -> ClientMessage:
    """Validate one text frame; raise MessageError with a stable code and the client's id."""
    try:
        return client_message.validate_json(data)
    except ValidationError as exc:
        raise MessageError(_error_code(exc), _summary(exc), _correlation_id(data)) from None


def _error_code(exc: ValidationError) -> ErrorCode:
    """unknown_type when only the `type` tag was wrong, invalid_message otherwise."""
    return ErrorCode.UNKNOWN_TYPE if _is_unknown_type(exc) else ErrorCode.INVALID_MESSAGE


def _is_unknown_type(exc: ValidationError) -> bool:
    """True when the frame was an object whose `type` names no client message."""
    return {e["type"] for e in exc.errors(include_url=False)} == {"union_tag_invalid"}


def _summary(exc: ValidationError) -> str:
    """Locations and reasons only: input values may hold SDP, tokens or addresses."""
    if _is_unknown_type(exc):
        return "unknown message type"
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'message'}: {e['msg']}" for e in errors[:3]]
    return "; ".join(parts)[:500]


def _correlation_id(data: str | bytes) -> int | None:
    """The client's `id`, if the frame was a JSON object with a usable one."""
    try:
        raw = json.loads(data)
    except (ValueError, RecursionError):  # not JSON, or nested past Python's stack
        return None
    value = raw.get("id") if isinstance(raw, dict) else None
    # bool is an int subclass; `true` is not a correlation id.
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value <= MAX_CORRELATION_ID else None
    return None


def signaling_json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of every client and server message of this protocol version."""
    defs: dict[str, Any] = {}
    for name, adapter in (("ClientMessage", client_message), ("ServerMessage", server_message)):
        schema = adapter.json_schema(mode="validation")
        defs.update(schema.pop("$defs"))
        defs[name] = schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:screenvisit:signaling:" + PROTOCOL_VERSION,
        "title": f"screenvisit signalling protocol, version {PROTOCOL_VERSION}",
        "oneOf": [{"$ref": "#/$defs/ClientMessage"}, {"$ref": "#/$defs/ServerMessage"}],
        "$defs": defs,
    }
