"""Named network namespaces (the `ip netns` kind, bind-mounted under /var/run/netns).

The lab makes one per node and one per pod; tests make their own. Creation and removal go
through `ip netns` so that the result is exactly what an operator sees with `ip netns list`.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pyantrea_netlink.nsenter import enter_netns

NETNS_DIR = Path("/var/run/netns")
ETC_NETNS_DIR = Path("/etc/netns")
"""Files `ip netns exec NAME` bind-mounts over /etc (iproute2's convention)."""
T = TypeVar("T")


def netns_path(name: str) -> Path:
    """The bind-mount path of a named namespace, as CNI_NETNS expects it."""
    return NETNS_DIR / name


def exists(name: str) -> bool:
    return netns_path(name).exists()


def create(name: str) -> Path:
    """Create the namespace `name` with its loopback up; an existing one is an error."""
    if exists(name):
        raise FileExistsError(f"network namespace {name!r} already exists")
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True, text=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, capture_output=True, text=True)
    return netns_path(name)


def delete(name: str) -> None:
    """Remove the namespace `name` and its /etc/netns/<name> files (a pod's resolv.conf, which
    `ip netns exec` mounts over /etc); a missing one is fine (idempotent)."""
    if exists(name):
        subprocess.run(["ip", "netns", "delete", name], check=False, capture_output=True, text=True)
    shutil.rmtree(ETC_NETNS_DIR / name, ignore_errors=True)


def run(name: str, *argv: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run a command inside the namespace and return its completed process."""
    return subprocess.run(
        ["ip", "netns", "exec", name, *argv], check=check, capture_output=True, text=True, timeout=timeout
    )


def enter(name: str) -> None:
    """Move the calling thread into the namespace `name` (setns(2); threads it starts later
    inherit it). A command-line tool calls this first thing, before any other thread exists."""
    enter_netns(netns_path(name))


def call_in(name: str | Path, job: Callable[[], T]) -> T:
    """Run `job` on a new thread inside the namespace (a name or a path) and return its result.

    setns moves only that thread, and sockets it opens stay bound to the namespace, so the
    caller's own namespace is never touched. `job`'s exception is raised here.
    """
    path = netns_path(name) if isinstance(name, str) else name
    result: list[T] = []
    errors: list[BaseException] = []

    def body() -> None:
        try:
            enter_netns(path)
            result.append(job())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=body, name=f"in {path.name}")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]
