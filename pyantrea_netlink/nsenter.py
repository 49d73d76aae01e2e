"""Entering a network namespace from one thread, with setns(2) through ctypes.

Python 3.11 has no `os.setns`. setns(2) with CLONE_NEWNET moves only the calling thread, and a
netlink or packet socket stays bound to the namespace it was opened in, which is what
`pyantrea_netlink.thread` builds on. pyroute2's own `NetNS` and `netns=` arguments are never used:
they fork a helper process, and a forked child can crash in a process that runs gRPC.
"""

from __future__ import annotations

import ctypes
import errno
import os
from pathlib import Path

from pyantrea_netlink.errors import NetnsNotFoundError

CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)


def open_netns(path: Path) -> int:
    """An O_RDONLY descriptor of the namespace at `path` (/var/run/netns/X, /proc/PID/ns/net)."""
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NetnsNotFoundError(f"network namespace {path} does not exist") from None


def enter_netns(path: Path) -> None:
    """Move the calling thread, and only it, into the network namespace at `path`."""
    fd = open_netns(path)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            code = ctypes.get_errno()
            if code == errno.EINVAL:
                raise NetnsNotFoundError(f"{path} is not a network namespace")
            raise OSError(code, f"setns({path}): {os.strerror(code)}")
    finally:
        os.close(fd)
