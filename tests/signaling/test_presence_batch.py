"""Presence changes that happen together reach a following console as one message."""

from __future__ import annotations

from aiohttp import web

from server.signaling import hub_key
from tests.signaling.conftest import NewClient
from tests.signaling.wsclient import staff_socket


async def test_changes_together_are_one_presence_message(
    new_client: NewClient, app: web.Application
) -> None:
    """Two citizens' changes (as in a mass disconnect) arrive as one `presence` with both
    entries; a citizen nobody follows is left out, and one follower's message carries only
    what it follows."""
    nurse = await staff_socket(await new_client(), "anna")
    await nurse.send(type="presence-subscribe", id=1, citizen_ids=["1", "3"])
    snapshot = await nurse.next()
    assert [e["citizen_id"] for e in snapshot["entries"]] == ["1", "3"]
    other = await staff_socket(await new_client(), "anna")
    await other.send(type="presence-subscribe", id=1, citizen_ids=["3"])
    await other.next()
    hub = app[hub_key]
    await hub.publish_presence(["1"])  # no await in between yields: the same round
    await hub.publish_presence(["3", "2"])
    together = await nurse.expect("presence")
    assert [e["citizen_id"] for e in together["entries"]] == ["1", "3"]
    assert [e["citizen_id"] for e in (await other.expect("presence"))["entries"]] == ["3"]
    await nurse.ws.close()
    await other.ws.close()
