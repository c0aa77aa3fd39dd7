"""Hypothesis strategies for hostile signalling frames, built from the protocol's own shapes.

A session is one socket: who opens it, how it says hello, and the frames it then sends. Frames
are random text and bytes, and near-valid JSON made from the client messages of
``server/signaling/messages.py`` (the same shapes as PROTOCOL.md) with one thing wrong: a wrong
type, a huge string, deep nesting, NaN/Infinity, an unknown field, a missing one. Ids are often
placeholders (``$CALL``…) that the sender replaces with live ids just before sending, so valid
messages reach the handlers out of order (an answer before a ring, ICE for a call one is not
in, a hangup of someone else's call).
"""

from __future__ import annotations

import json
import typing
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel

from server.signaling.messages import MAX_FRAME_BYTES, ClientMessage

# Placeholders the sender fills in (tests/fuzz/wire.py): a live call the fuzzing socket is not
# in, its two participants, the socket's own peer id, the last call id it was told about, and
# citizens of team A, team B and another organisation.
PLACEHOLDERS = (
    "$CALL",
    "$CALL_NURSE",
    "$CALL_KIOSK",
    "$ME",
    "$SEEN_CALL",
    "$CITIZEN_A",
    "$CITIZEN_B",
    "$CITIZEN_X",
    "$VISIT",
    "$STAFF",
)
# Ids that are wrong in instructive ways: past both backends' integers, too long, empty,
# outside the id alphabet, a NUL, a number where a string belongs.
ODD_IDS: tuple[Any, ...] = (
    "987654",
    "0",
    "-1",
    str(2**31),
    str(2**63),
    "9" * 64,
    "9" * 65,
    "",
    "../1",
    "a\x00b",
    "ä",
    1,
    2**64,
    None,
)


def _client_models() -> dict[str, type[BaseModel]]:
    union = typing.get_args(typing.get_args(ClientMessage)[0])
    return {model.model_fields["type"].default: model for model in union}


MODELS = _client_models()
TYPES = tuple(sorted(MODELS))


@dataclass(frozen=True, eq=False)
class Session:
    """One fuzzing socket: ``identity`` (a name from tests/authz/identities.py), its hello
    (``valid``: the identity's own, ``none`` at all, or a fuzzed one) and the frames it sends
    in order."""

    identity: str
    hello: str | dict[str, Any]
    frames: tuple[Frame, ...]


class Raw(str):
    """Text sent as it is, not JSON-encoded (NaN, Infinity, cut-off documents)."""


Frame = dict[str, Any] | Raw | bytes


def ids() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(PLACEHOLDERS),
        st.sampled_from(ODD_IDS),
        st.from_regex(r"[A-Za-z0-9_.:-]{1,64}", fullmatch=True),
    )


def junk(depth: int = 2) -> st.SearchStrategy[Any]:
    """Any JSON value, small."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=40),
    )
    if depth == 0:
        return scalars
    inner = junk(depth - 1)
    return st.one_of(
        scalars,
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=8), inner, max_size=4),
    )


def huge_text() -> st.SearchStrategy[str]:
    """Strings near and past the limits (ids 64, names 200, candidates 1 KiB, SDP 32 KiB)."""
    sizes = st.sampled_from([65, 201, 1025, 32 * 1024 + 1, 60_000])
    return st.builds(lambda n, c: c * n, sizes, st.sampled_from(["a", "é", "\x00", "😀", " "]))


def nested(depth: int) -> str:
    """JSON text of ``depth`` nested arrays (or objects when odd) around a 1."""
    if depth % 2:
        return '{"a":' * depth + "1" + "}" * depth
    return "[" * depth + "1" + "]" * depth


def good_value(field: str) -> st.SearchStrategy[Any]:
    """A value of the right shape for a client message field."""
    if field in {"call_id", "to", "citizen_id", "visit_id", "user_id", "lobby_id", "peer_id"}:
        return ids()
    if field == "citizen_ids":
        return st.lists(ids(), max_size=8)
    if field in {"sound", "camera", "microphone"}:
        return st.booleans()
    if field == "sdp":
        return st.sampled_from(["v=0\r\n", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"])
    if field == "candidate":
        return st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {"candidate": st.just("candidate:1 1 udp 1 127.0.0.1 9 typ host")},
                optional={"sdpMid": st.just("0"), "sdpMLineIndex": st.integers(-1, 300)},
            ),
        )
    if field == "version":
        return st.one_of(st.just(["1"]), st.lists(st.text(max_size=17), max_size=9))
    if field == "resume":
        return st.fixed_dictionaries({"call_id": ids(), "resume_token": st.text(max_size=40)})
    return st.text(max_size=30)


@st.composite
def message(draw: st.DrawFn, types: tuple[str, ...] = TYPES) -> dict[str, Any]:
    """A client message of a real type, each field right or (sometimes) wrong."""
    kind = draw(st.sampled_from(types))
    fields = [name for name in MODELS[kind].model_fields if name not in {"type", "id"}]
    body: dict[str, Any] = {"type": kind, "id": draw(st.integers(0, 2**53 - 1))}
    for name in fields:
        if draw(st.integers(0, 9)) == 0:
            continue  # a missing field
        wrong = draw(st.integers(0, 5)) == 0
        body[name] = draw(junk() if wrong else good_value(name))
    return body


@st.composite
def broken(draw: st.DrawFn) -> Frame:
    """A message made wrong at the level of the frame rather than of one field."""
    base = draw(message())
    how = draw(st.integers(0, 9))
    if how == 0:
        base[draw(st.text(min_size=1, max_size=10))] = draw(junk())  # an unknown field
    elif how == 1:
        base["type"] = draw(st.one_of(st.text(max_size=20), junk(0)))
    elif how == 2:
        base["id"] = draw(st.one_of(st.integers(-5, 2**60), junk(0)))
    elif how == 3:
        return Raw(json.dumps(base)[:-1] + ',"x":' + nested(draw(st.integers(100, 4000))) + "}")
    elif how == 4:
        field = draw(st.sampled_from(sorted(base)))
        base[field] = draw(huge_text())
    elif how == 5:
        number = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-0"]))
        return Raw(json.dumps(base)[:-1] + f',"n":{number}}}')
    elif how == 6:
        text = json.dumps(base)
        return Raw(text[: draw(st.integers(0, len(text)))])  # cut off
    elif how == 7:
        return Raw(json.dumps(base)[:-1] + ',"type":"ping"}')  # a duplicate key
    elif how == 8:
        return Raw(json.dumps(base).encode("utf-8", "replace").decode("latin-1"))
    return Raw(json.dumps(base))


def frame() -> st.SearchStrategy[Frame]:
    """One frame of any kind: mostly near-valid, some plain garbage."""
    return st.one_of(
        message(),
        message(),
        broken(),
        st.text(max_size=200).map(Raw),
        st.sampled_from([nested(1000), nested(5000), nested(20_000)]).map(Raw),
        st.sampled_from(["null", "[]", "{}", '"hello"', "1", "NaN", "true", "{" * 3]).map(Raw),
    )


def ending() -> st.SearchStrategy[Frame]:
    """A last frame that ends the socket: binary, or a text frame at or past the size limit."""
    return st.one_of(
        st.binary(max_size=100),
        st.sampled_from([MAX_FRAME_BYTES, MAX_FRAME_BYTES + 1, 2 * MAX_FRAME_BYTES]).map(
            lambda n: Raw('{"type":"ping","x":"' + "a" * (n - 25) + '"}')
        ),
    )


def sessions(identities: tuple[str, ...], max_frames: int = 40) -> st.SearchStrategy[Session]:
    """Sockets as any of ``identities``, each with up to ``max_frames`` frames."""

    @st.composite
    def one(draw: st.DrawFn) -> Session:
        frames = draw(st.lists(frame(), min_size=max_frames // 4, max_size=max_frames))
        if draw(st.integers(0, 7)) == 0:
            frames.append(draw(ending()))
        how = draw(st.integers(0, 7))
        hello = "none" if how == 0 else draw(fuzzed_hello()) if how == 1 else "valid"
        return Session(draw(st.sampled_from(identities)), hello, tuple(frames))

    return one()


def fuzzed_hello() -> st.SearchStrategy[dict[str, Any]]:
    """A hello with wrong or odd credentials, versions and fields."""
    return st.fixed_dictionaries(
        {"type": st.just("hello"), "version": good_value("version")},
        optional={
            "id": junk(0),
            "token": st.one_of(st.text(max_size=600), junk(0)),
            "invite": st.text(min_size=16, max_size=40),
            "link": st.text(min_size=16, max_size=40),
            "name": st.one_of(st.text(max_size=250), junk(0)),
            "resume": good_value("resume"),
            "agent": huge_text(),
        },
    )


def render(value: Frame, fill: dict[str, str]) -> str | bytes:
    """The frame to send: placeholders replaced by live ids, dicts as JSON (NaN kept as NaN)."""
    if isinstance(value, bytes):
        return value
    text = str(value) if isinstance(value, Raw) else json.dumps(_fill(value, fill))
    for key, live in fill.items():
        text = text.replace(key, live)
    return text


def _fill(value: Any, fill: dict[str, str]) -> Any:
    if isinstance(value, str):
        return fill.get(value, value)
    if isinstance(value, list):
        return [_fill(item, fill) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, fill) for key, item in value.items()}
    return value
