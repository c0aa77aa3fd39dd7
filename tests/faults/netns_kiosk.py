"""`python -m tests.faults.netns_kiosk --server URL --token T --ice-host ADDR`: the tablet process
of tests/multinode (the kiosk agent answering every ring, printing its state as JSON lines),
with ICE on one given address instead of loopback: run inside a network namespace, the
namespace's own veth address is the only way to reach it."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

import aioice.ice

from tests.multinode.kiosk_process import run


def pin_ice(address: str) -> None:
    """Offer only ``address`` as the tablet's host candidate."""

    def only(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [address]

    aioice.ice.get_host_addresses = only


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m tests.faults.netns_kiosk")
    parser.add_argument("--server", required=True, help="base URL of the server")
    parser.add_argument("--token", required=True, help="the tablet's device token")
    parser.add_argument("--ice-host", required=True, help="the one address to gather ICE on")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for name in ("aiortc", "aioice", "aiohttp"):
        logging.getLogger(name).setLevel(logging.WARNING)
    pin_ice(args.ice_host)
    return asyncio.run(run(args.server, args.token))


if __name__ == "__main__":
    sys.exit(main())
