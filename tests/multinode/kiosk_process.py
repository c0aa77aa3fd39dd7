"""`python -m tests.multinode.kiosk_process --server URL --token T`: a tablet in its own process.

It runs the headless kiosk agent (`kiosk.agent.KioskAgent`, as `python -m kiosk` does) answering
every ring at once, with ICE pinned to 127.0.0.1, and prints its state as one JSON line whenever
the state changes, so a test in another process can follow the socket (peer id, resumed call),
the call and the frames it decodes. SIGTERM stops it cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Sequence
from typing import Any

import aiohttp

from kiosk.agent import AgentOptions, KioskAgent

REPORT_EVERY_S = 0.1


def pin_loopback_ice() -> None:
    """aioice skips 127.0.0.1 when it lists host addresses; keep ICE on loopback."""
    import aioice.ice

    def loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return ["127.0.0.1"]

    aioice.ice.get_host_addresses = loopback


def state_of(agent: KioskAgent) -> dict[str, Any]:
    """What the test needs to see of the tablet (ids and counters only: no tokens, no SDP)."""
    welcome = agent.client.welcome
    call = agent.call
    links = call.peers.links if call is not None else {}
    return {
        "online": agent.client.authenticated.is_set(),
        "peer_id": welcome.peer_id if welcome is not None else None,
        "resumed": welcome.resumed.call_id if welcome and welcome.resumed else None,
        "call_id": call.call_id if call is not None else None,
        # A link's creation time tells a fresh link (after a resume) from the one before it.
        "links": {
            peer: {"created": link.stats.created_at, "video": link.stats.video_frames}
            for peer, link in links.items()
        },
        "ended": agent.end_reason,
    }


async def report(agent: KioskAgent) -> None:
    """Print the state whenever it changed, at most every REPORT_EVERY_S."""
    last = ""
    while True:
        line = json.dumps(state_of(agent), sort_keys=True)
        if line != last:
            print(line, flush=True)
            last = line
        await asyncio.sleep(REPORT_EVERY_S)


async def run(server: str, token: str) -> int:
    """Run the agent until SIGTERM; its exit status."""
    options = AgentOptions(answer="always", answer_delay_s=0.0)
    async with aiohttp.ClientSession() as http:
        agent = KioskAgent(http, server, token, options)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, lambda: asyncio.ensure_future(agent.stop()))
        reporter = asyncio.create_task(report(agent))
        try:
            return await agent.run()
        finally:
            reporter.cancel()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m tests.multinode.kiosk_process")
    parser.add_argument("--server", required=True, help="base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--token", required=True, help="the tablet's device token")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for name in ("aiortc", "aioice", "aiohttp"):
        logging.getLogger(name).setLevel(logging.WARNING)
    pin_loopback_ice()
    return asyncio.run(run(args.server, args.token))


if __name__ == "__main__":
    sys.exit(main())
