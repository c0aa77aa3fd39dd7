"""Who owns a row that a running process vouches for (a live call, a running import).

An owner id is ``host:pid:token``: the token makes it unique per process start, host and pid
let a restarted process tell that a row's owner on the same host is certainly gone. Owners on
other hosts are never judged gone here; their leases run out instead.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Collection

from .security import new_token


def owner_id() -> str:
    """This process start's owner id, ``host:pid:token`` (at most 64 characters)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{new_token(6)}"


def gone_owners(owners: Collection[str], me: str) -> set[str]:
    """The owners among ``owners`` that are certainly gone: same host, and the pid no longer
    runs or is this process's own (another start of the same pid, e.g. a container's pid 1)."""
    host, pid = _host_and_pid(me)
    gone = set()
    for owner in owners:
        their_host, their_pid = _host_and_pid(owner)
        if owner == me or their_host != host or their_pid is None:
            continue
        if their_pid == pid or not _running(their_pid):
            gone.add(owner)
    return gone


def owner_gone(owner: str, me: str) -> bool:
    """Whether one owner is certainly gone (see `gone_owners`)."""
    return owner in gone_owners([owner], me)


def _host_and_pid(owner: str) -> tuple[str, int | None]:
    """Split an owner id (``owner_id``)."""
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return owner, None
    return parts[0], int(parts[1])


def _running(pid: int) -> bool:
    """Whether a process with this pid runs on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, as another user
        return True
    return True
