"""A network namespace joined to the host by a veth pair, whose link the test can cut.

Names and the /30 subnet are random per use, so parallel runs never collide. Everything is
removed again on exit, whatever happened (deleting the namespace deletes both veth ends).
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import shutil
import subprocess
import uuid
from collections.abc import Iterator

from tests.databases import missing_service


@dataclasses.dataclass(frozen=True)
class Netns:
    """The namespace, the host's veth end and the namespace's, and their addresses."""

    name: str
    host_veth: str
    inner_veth: str
    host_address: str
    inner_address: str

    def exec_prefix(self) -> list[str]:
        """Prefix a command with this to run it inside the namespace."""
        return ["ip", "netns", "exec", self.name]

    def cut(self) -> None:
        """The tablet's network is gone: the host's end of the link goes down, so nothing
        passes either way (the namespace's end only loses its carrier, as a Wi-Fi drop does).
        (netem would drop packets instead, but this kernel has no qdisc modules.)"""
        _ip("ip", "link", "set", self.host_veth, "down")

    def restore(self) -> None:
        """The network is back (the host's address and route come back with the link)."""
        _ip("ip", "link", "set", self.host_veth, "up")


def _ip(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=10)
    assert done.returncode == 0, f"{' '.join(command)}: {done.stderr}"


def netns_unavailable() -> str | None:
    """Why a namespace cannot be made here (not root, no `ip`/`tc`), or None."""
    if shutil.which("ip") is None:
        return "the ip command"
    probe = f"svp{uuid.uuid4().hex[:8]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, timeout=10)
    if made.returncode != 0:
        return "ip netns (root)"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=10)
    return None


@contextlib.contextmanager
def veth_namespace() -> Iterator[Netns]:
    """A fresh namespace with a veth pair on a random 10.203.x.0/30; removed afterwards. A
    machine without namespaces fails in CI (CI=true) and skips elsewhere."""
    reason = netns_unavailable()
    if reason is not None:
        missing_service(reason)
    tag = uuid.uuid4().hex[:8]
    third = random.randrange(256)
    ns = Netns(f"svf{tag}", f"svh{tag}", f"svk{tag}", f"10.203.{third}.1", f"10.203.{third}.2")
    try:
        _ip("ip", "netns", "add", ns.name)
        _ip("ip", "link", "add", ns.host_veth, "type", "veth", "peer", "name", ns.inner_veth)
        _ip("ip", "link", "set", ns.inner_veth, "netns", ns.name)
        _ip("ip", "addr", "add", f"{ns.host_address}/30", "dev", ns.host_veth)
        _ip("ip", "link", "set", ns.host_veth, "up")
        inside = ns.exec_prefix()
        _ip(*inside, "ip", "addr", "add", f"{ns.inner_address}/30", "dev", ns.inner_veth)
        _ip(*inside, "ip", "link", "set", ns.inner_veth, "up")
        _ip(*inside, "ip", "link", "set", "lo", "up")
        _ip(*inside, "ip", "route", "add", "default", "via", ns.host_address)
        yield ns
    finally:
        subprocess.run(["ip", "link", "del", ns.host_veth], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", ns.name], capture_output=True, timeout=10)
