"""The WebSocket endpoint: origin check, hello deadline, one reader loop, dispatch, cleanup."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time

from aiohttp import WSMsgType, web

from ..auth.devices import kiosk_tokens_key
from ..keys import settings_key, websockets_key
from . import calls, colleagues, devices, guests, relay, session
from .dispatch import HandlerTable
from .errors import SignalingError, refusal_for
from .hub import Hub, hub_key
from .messages import (
    MAX_CORRELATION_ID,
    Accept,
    Admit,
    Answer,
    Cancel,
    Candidate,
    CloseCode,
    Decline,
    Deny,
    DeviceState,
    ErrorCode,
    Hangup,
    Hello,
    Invite,
    MessageError,
    Offer,
    Ping,
    PresenceSubscribe,
    Remove,
    Ring,
    parse_client_message,
)
from .peer import Peer

logger = logging.getLogger(__name__)
timing_logger = logging.getLogger("server.signaling.timing")

# Every client message after `hello` (which the handshake reads) has exactly one handler.
HANDLERS = (
    HandlerTable()
    .add(Ping, session.on_ping)
    .add(PresenceSubscribe, session.on_presence_subscribe)
    .add(Ring, calls.on_ring)
    .add(Accept, calls.on_accept)
    .add(Decline, calls.on_decline)
    .add(Cancel, calls.on_cancel)
    .add(Hangup, calls.on_hangup)
    .add(Invite, colleagues.on_invite)
    .add(Offer, relay.on_offer)
    .add(Answer, relay.on_answer)
    .add(Candidate, relay.on_candidate)
    .add(DeviceState, devices.on_device_state)
    .add(Admit, guests.on_admit)
    .add(Deny, guests.on_deny)
    .add(Remove, guests.on_remove)
)
RELEASE_AFTER_S = 1.0  # a closed socket's transport has finished closing by then
RATE_WINDOW_S = 1.0
RATE_LIMIT = 60  # messages per second; trickle ICE bursts stay far below
ABUSE_LIMIT = 300  # dropped messages before the socket is closed
# Idle tablets send little but `ping`: the exact compact forms clients send are answered
# without the parser and the pong is written straight (the same bytes `Pong` would give).
# Anything else that says ping (spaces, extra fields) takes the normal path.
_ID = r"(0|[1-9]\d{0,15})"  # a JSON integer: no sign, no leading zero
_PING = re.compile(rf'\{{(?:"type":"ping"(?:,"id":{_ID})?|"id":{_ID},"type":"ping")\}}')


def origin_allowed(request: web.Request) -> bool:
    """Same-origin pages and configured origins may connect; non-browsers send no Origin."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    own = f"{request.scheme}://{request.host}"
    return origin == own or origin.rstrip("/") in request.app[settings_key].origins


async def websocket_handler(request: web.Request) -> web.StreamResponse:
    """Serve one signalling socket from upgrade to close."""
    if not origin_allowed(request):
        raise web.HTTPForbidden(reason="origin not allowed")
    settings = request.app[settings_key]
    # aiohttp refuses a frame whose size *reaches* max_msg_size; the protocol allows frames of
    # at most ws_max_msg_kb KiB, so the limit given to aiohttp is one byte more.
    # No permessage-deflate, although browsers offer it: a socket that compresses keeps a zlib
    # compressor (up to 256 KiB, ~100 KB of it resident after the welcome, measured) and
    # inflates and deflates every frame. Signalling is a few small frames per call.
    ws = web.WebSocketResponse(
        heartbeat=settings.ws_heartbeat_s,
        max_msg_size=settings.ws_max_msg_kb * 1024 + 1,
        compress=False,
    )
    await ws.prepare(request)
    transport = request.transport  # gone from the request once the connection is lost
    sockets = request.app[websockets_key]
    sockets.add(ws)
    hub = request.app[hub_key]
    try:
        peer = await _handshake(request, hub, ws)
        if peer is not None:
            await _serve(hub, peer)
            if peer.banished and peer.profile.kiosk_db_id is not None:
                # Closed for good (revoked): the token is not trusted from memory again.
                request.app[kiosk_tokens_key].forget_kiosk(peer.profile.kiosk_db_id)
    finally:
        sockets.discard(ws)
        if ws.closed:
            _release(request, transport)
    return ws


def _release(request: web.Request, transport: asyncio.Transport | None) -> None:
    """Break the reference cycles a closed socket leaves behind, so that reference counting
    frees it at once: long-lived sockets are frozen out of the collector's sight
    (server/heap.py), and a cycle among frozen objects is never collected. Two remain after
    close: aiohttp 3.14's connection keeps the socket's data callback (which holds the socket,
    whose reader holds the connection), and asyncio's transport keeps its own bound read
    callback (broken once the transport has finished closing)."""
    protocol = request.protocol
    if protocol is not None:
        protocol._data_received_cb = None
    if transport is not None:
        asyncio.get_running_loop().call_later(RELEASE_AFTER_S, _release_transport, transport, 3)


def _release_transport(transport: asyncio.BaseTransport, tries: int) -> None:
    # Closed and its connection_lost has run: the callback is never called again.
    if getattr(transport, "_sock", True) is None and hasattr(transport, "_read_ready_cb"):
        setattr(transport, "_read_ready_cb", None)  # noqa: B010 (a private attribute)
    elif tries > 1:
        asyncio.get_running_loop().call_later(
            RELEASE_AFTER_S, _release_transport, transport, tries - 1
        )


async def _handshake(request: web.Request, hub: Hub, ws: web.WebSocketResponse) -> Peer | None:
    """Wait for ``hello`` within the deadline; authenticate; welcome. None means closed."""
    deadline = request.app[settings_key].ws_auth_deadline_s
    try:
        async with asyncio.timeout(deadline):
            hello = await _await_hello(ws)
    except TimeoutError:
        await ws.close(code=CloseCode.POLICY_VIOLATION, message=b"no hello in time")
        return None
    if hello is None:
        return None
    try:
        profile, guest = await session.authenticate(request, hub, hello)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # refused, or the database is busy (try_again, closed 1013)
        await _refuse(ws, exc, hello.id)
        return None
    peer = session.new_peer(ws, profile, guest)
    try:
        await hub.attach(peer)
        logger.info(
            "peer %s connected (%s %s)", peer.peer_id, profile.kind.value, profile.identity_id
        )
        await session.welcome(hub, peer, hello)
    except Exception as exc:  # e.g. the shared state (Redis) is away: try_again, closed 1013
        await hub.cleanup(lambda: session.disconnected(hub, peer))
        await _refuse(ws, exc, hello.id)
        return None
    except BaseException:
        await hub.cleanup(lambda: session.disconnected(hub, peer))
        raise
    return peer


async def _await_hello(ws: web.WebSocketResponse) -> Hello | None:
    """Read until a valid hello; anything else before it is refused, the socket stays open."""
    while True:
        msg = await ws.receive()
        if msg.type is not WSMsgType.TEXT:
            await _close_for_frame(ws, msg.type)
            return None
        try:
            parsed = parse_client_message(msg.data)
        except MessageError as exc:
            await ws.send_str(exc.to_error().model_dump_json())
            continue
        if isinstance(parsed, Hello):
            return parsed
        error = refusal_for(
            SignalingError(ErrorCode.NOT_AUTHENTICATED, "send hello first"), parsed.id
        )
        await ws.send_str(error.error.model_dump_json())


async def _close_for_frame(ws: web.WebSocketResponse, kind: WSMsgType) -> None:
    if kind is WSMsgType.BINARY:
        await ws.close(code=CloseCode.UNSUPPORTED_DATA, message=b"text frames only")
    elif not ws.closed:
        await ws.close()


async def _refuse(ws: web.WebSocketResponse, exc: Exception, ref: int | None) -> None:
    refusal = refusal_for(exc, ref)
    error = refusal.error
    if error.code is ErrorCode.INTERNAL_ERROR:
        logger.error("hello failed", exc_info=exc)
    await ws.send_str(error.model_dump_json())
    close = CloseCode.TRY_AGAIN_LATER if error.code is ErrorCode.TRY_AGAIN else refusal.close
    if close is not None:
        await ws.close(code=close, message=error.message.encode()[:120])


async def _serve(hub: Hub, peer: Peer) -> None:
    """The read loop: the only place this socket is read."""
    ws = peer.ws
    # Chosen once per socket, so the untimed hot path carries no timing branch.
    dispatch = _timed_dispatch if hub.settings.signaling_timing else _dispatch
    try:
        while True:  # not `async for`: its iterator is one more frame kept per idle socket
            msg = await ws.receive()
            if msg.type is not WSMsgType.TEXT:  # closing frames end the loop here too
                await _close_for_frame(ws, msg.type)
                break
            if not _within_rate(peer):
                await _refuse_flood(peer)
                continue
            pong = fast_pong(msg.data)
            if pong is not None:
                await _send_pong(ws, pong)
                continue
            await dispatch(hub, peer, msg.data)
            if ws.closed:
                break
    finally:
        # The test server (and handler_cancellation) cancel this task when the client goes:
        # the seat, presence and indexes must still be settled.
        await hub.cleanup(lambda: session.disconnected(hub, peer))
        logger.info("peer %s disconnected (close code %s)", peer.peer_id, ws.close_code)


async def _send_pong(ws: web.WebSocketResponse, pong: str) -> None:
    """Answer on the reader's own task without ``Peer.send``'s timeout (a timer per message):
    a client that does not read blocks only its own reader, and the heartbeat ends it."""
    try:
        await ws.send_str(pong)
    except ConnectionResetError:
        logger.debug("pong to a closing socket dropped")


def fast_pong(data: str) -> str | None:
    """The `pong` for a compact `ping` frame; None for anything else (parsed as usual)."""
    match = _PING.fullmatch(data)
    if match is None:
        return None
    digits = match.group(1) or match.group(2)
    if digits is None:
        return '{"type":"pong"}'
    ref = int(digits)
    if ref > MAX_CORRELATION_ID:
        return None  # the parser refuses it with invalid_message
    return f'{{"ref":{ref},"type":"pong"}}'


def _within_rate(peer: Peer) -> bool:
    """At most RATE_LIMIT messages per fixed one-second window (two counters, no list)."""
    now = time.monotonic()
    if now - peer.window_start >= RATE_WINDOW_S:
        peer.window_start, peer.window_count = now, 0
    if peer.window_count < RATE_LIMIT:
        peer.window_count += 1
        return True
    return False


async def _refuse_flood(peer: Peer) -> None:
    """A dropped message gets rate_limited; a persistent flood closes the socket (1008)."""
    peer.dropped += 1
    if peer.dropped > ABUSE_LIMIT:
        await peer.ws.close(code=CloseCode.POLICY_VIOLATION, message=b"too many messages")
    else:
        await peer.send(
            refusal_for(SignalingError(ErrorCode.RATE_LIMITED, "slow down"), None).error
        )


async def _dispatch(hub: Hub, peer: Peer, data: str) -> None:
    """Parse, route to the message's handler, and turn any failure into an error reply."""
    ref = None
    try:
        msg = parse_client_message(data)
        ref = msg.id
        if isinstance(msg, Hello):
            raise SignalingError(ErrorCode.INVALID_STATE, "already said hello")
        await HANDLERS.dispatch(hub, peer, msg)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        refusal = refusal_for(exc, ref)
        if refusal.error.code is ErrorCode.INTERNAL_ERROR:
            logger.exception("signalling handler failed for peer %s", peer.peer_id)
        await peer.send(refusal.error)
        if refusal.close is not None:
            await peer.ws.close(code=refusal.close, message=refusal.error.message.encode()[:120])


async def _timed_dispatch(hub: Hub, peer: Peer, data: str) -> None:
    """``_dispatch`` plus one log line with the server's own time for the message (bench)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    await _dispatch(hub, peer, data)
    elapsed_us = round((time.perf_counter() - started) * 1e6)
    # The process's CPU meanwhile: the message's own unless other sockets were served between
    # its awaits (the wall time on a shared machine also counts the neighbours').
    cpu_us = round((time.process_time() - cpu_started) * 1e6)
    try:
        fields = json.loads(data)
        kind, call_id = fields.get("type"), fields.get("call_id")
    except (ValueError, AttributeError):
        kind, call_id = None, None
    if call_id is None:  # a ring: the server chose the id
        call = await hub.book.call_of(peer.peer_id)
        call_id = call.call_id if call else None
    record = {"type": kind, "call": call_id, "us": elapsed_us, "cpu_us": cpu_us}
    timing_logger.info("signaling-timing %s", json.dumps(record))
