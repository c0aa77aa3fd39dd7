"""The two wire protocols the load client speaks: ours (`server/signaling/PROTOCOL.md`) and the
PeerJS server's. Each dialect turns the load client's few actions (authenticate, ping, ring,
answer a ring, relay a timed payload) into frames and recognises the frames that answer them.

PeerJS has no calls: a "ring" is an `OFFER` with a small payload, answered by an `ANSWER`; an
app ping is a `HEARTBEAT` (which PeerJS never answers, it only keeps the socket alive) followed by
an `OFFER` to oneself, whose echo is the round trip.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, Literal

Proto = Literal["ours", "peerjs"]
PEERJS_KEY = "peerjs"
_STAMP = re.compile(r"a=bench-t:(\d+)")


def stamp_ns() -> int:
    """A time comparable across processes on this machine (CLOCK_MONOTONIC)."""
    return time.monotonic_ns()


def fake_sdp(size: int, sent_ns: int) -> str:
    """An opaque SDP-looking text of about ``size`` bytes carrying its send time."""
    head = f"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\na=bench-t:{sent_ns}\r\n"
    return head + "a=x:" + "0" * max(0, size - len(head) - 6) + "\r\n"


def sent_at(sdp: str) -> int | None:
    """The send time a `fake_sdp` carries, or None."""
    match = _STAMP.search(sdp)
    return int(match.group(1)) if match else None


def ws_url(proto: Proto, base: str, key: str, secret: str) -> str:
    """Where one client connects: `base` is ws://host:port (ours: /ws is appended)."""
    if proto == "ours":
        return base + "/ws"
    return f"{base}/p/peerjs?key={PEERJS_KEY}&id={key}&token={secret}"


def hello(proto: Proto, secret: str) -> str | None:
    """The first frame a kiosk sends (PeerJS authenticates in the URL: none)."""
    if proto == "ours":
        return json.dumps({"type": "hello", "id": 1, "version": ["1"], "token": secret})
    return None


def staff_hello() -> str:
    """A staff socket's hello: its session cookie authenticated the upgrade."""
    return json.dumps({"type": "hello", "id": 1, "version": ["1"]})


def is_welcome(proto: Proto, msg: dict[str, Any]) -> bool:
    """Whether ``msg`` completes the handshake."""
    return msg.get("type") == ("welcome" if proto == "ours" else "OPEN")


def ping_frames(proto: Proto, own_key: str, seq: int) -> list[str]:
    """The frames of one app-level ping."""
    if proto == "ours":
        return [json.dumps({"type": "ping", "id": seq})]
    probe = {"type": "OFFER", "dst": own_key, "payload": {"ping": seq}}
    return [json.dumps({"type": "HEARTBEAT"}), json.dumps(probe)]


def pong_seq(proto: Proto, own_key: str, msg: dict[str, Any]) -> int | None:
    """The ping sequence number ``msg`` answers, or None."""
    if proto == "ours":
        return msg.get("ref") if msg.get("type") == "pong" else None
    payload = msg.get("payload")
    if msg.get("type") == "OFFER" and msg.get("src") == own_key and isinstance(payload, dict):
        seq = payload.get("ping")
        return seq if isinstance(seq, int) else None
    return None


def ring_frame(proto: Proto, citizen_key: str, seq: int) -> str:
    """A staff member rings a tablet."""
    if proto == "ours":
        return json.dumps({"type": "ring", "id": seq, "citizen_id": citizen_key})
    return json.dumps({"type": "OFFER", "dst": citizen_key, "payload": {"ring": seq}})


def relay_frame(proto: Proto, kind: str, call_id: str, to: str, sdp: str) -> str:
    """An offer or answer of about 3 KB to the other end of a call."""
    if proto == "ours":
        return json.dumps({"type": kind, "call_id": call_id, "to": to, "sdp": sdp})
    return json.dumps({"type": kind.upper(), "dst": to, "payload": {"sdp": sdp, "type": kind}})


def reply_frame(proto: Proto, verb: str, call_id: str, to: str) -> str:
    """A tablet's `accept`, `decline` or `hangup` (PeerJS: an `ANSWER` naming the verb)."""
    if proto == "ours":
        return json.dumps({"type": verb, "call_id": call_id})
    return json.dumps({"type": "ANSWER", "dst": to, "payload": {"verb": verb}})
