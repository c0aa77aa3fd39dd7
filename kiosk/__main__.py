"""`python -m kiosk [agent] --server URL --token T` runs the agent; `… call …` places a call."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Sequence

import aiohttp
import av

from .agent import AgentOptions, KioskAgent
from .caller import LoginFailed, StaffCaller
from .media import TEST_PATTERN, open_media
from .signaling import SignalingError

logger = logging.getLogger("kiosk")
COMMANDS = ("agent", "call")


def build_parser() -> argparse.ArgumentParser:
    """The command line: sub-commands `agent` (the default) and `call`."""
    parser = argparse.ArgumentParser(prog="python -m kiosk", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    agent = commands.add_parser("agent", help="run the headless kiosk agent (default)")
    _common(agent)
    agent.add_argument("--token", required=True, help="the tablet's device token")
    agent.add_argument("--answer", choices=("auto", "always", "never"), default="auto")
    agent.add_argument("--answer-delay", type=float, default=2.0, metavar="S")
    call = commands.add_parser("call", help="log in as staff, ring a citizen, print JSON stats")
    _common(call)
    call.add_argument("--username", required=True)
    call.add_argument("--password", required=True)
    call.add_argument("--citizen", required=True, metavar="ID")
    call.add_argument("--visit", metavar="ID")
    call.add_argument("--seconds", type=float, default=20.0, help="how long to stay in the call")
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", required=True, help="base URL, e.g. http://localhost:8080")
    parser.add_argument(
        "--media",
        default=TEST_PATTERN,
        metavar="SPEC",
        help="test-pattern, or FFmpeg inputs: v4l2:/dev/video0,alsa:default or a file",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse, with `agent` implied when no sub-command is named."""
    args = list(argv)
    if not args or (args[0] not in COMMANDS and args[0] not in ("-h", "--help")):
        args.insert(0, "agent")
    return build_parser().parse_args(args)


async def run_agent(args: argparse.Namespace) -> int:
    """Run the agent until SIGTERM/SIGINT; 0 on a clean stop."""
    options = AgentOptions(answer=args.answer, answer_delay_s=args.answer_delay, media=args.media)
    try:
        # Fail at start, not at the first call, when a camera or file cannot be opened.
        open_media(args.media).stop()
    except (OSError, av.FFmpegError) as exc:
        logger.error("cannot open --media %s: %s", args.media, exc)
        return 2
    async with aiohttp.ClientSession() as http:
        agent = KioskAgent(http, args.server, args.token, options)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(agent.stop()))
        return await agent.run()


async def run_call(args: argparse.Namespace) -> int:
    """Place one call, stay `--seconds`, hang up and print the stats as JSON."""
    async with StaffCaller(args.server, media=args.media) as caller:
        try:
            await caller.login(args.username, args.password)
            await caller.connect()
            await caller.ring(args.citizen, args.visit)
        except SignalingError as exc:
            print(json.dumps({"error": exc.code.value, "message": exc.message}))
            return 2
        except (LoginFailed, ConnectionError) as exc:
            print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
            return 2
        await _stay(caller, args.seconds)
        if caller.call is not None:
            await caller.hangup()
        print(json.dumps(caller.stats(), indent=2))
        return 0 if caller.last_stats else 1


async def _stay(caller: StaffCaller, seconds: float) -> None:
    """Wait `seconds` in the call (counted from the ring), or less if it ends."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(caller.ended.wait(), seconds)


def configure_logging(verbosity: int) -> None:
    """INFO for our messages; -v adds DEBUG for ours, -vv for aiortc and aioice too."""
    logging.basicConfig(
        level=logging.DEBUG if verbosity >= 2 else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if verbosity == 1:
        logging.getLogger("kiosk").setLevel(logging.DEBUG)
    if verbosity < 2:
        for name in ("aiortc", "aioice", "aiohttp"):
            logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    configure_logging(args.verbose)
    command = run_agent if args.command == "agent" else run_call
    return asyncio.run(command(args))


if __name__ == "__main__":
    sys.exit(main())
