"""The lab's long-running processes: started detached, known by pid and start time, stopped by pid.

A process outlives the `pyantctl` command that started it, so it is identified by its pid and
its start time (field 22 of /proc/<pid>/stat): a pid the kernel reused for something else never
matches, and nothing is ever looked up or killed by name. A zombie counts as gone (its parent,
the command that started it, may have exited without reaping it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_POLL_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class ProcessId:
    """A process as the lab records it."""

    pid: int
    start_time: int


def start_time(pid: int) -> int | None:
    """The start time of a live (not zombie) process `pid`, or None when there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    state, started = fields[0], int(fields[19])
    return None if state in ("Z", "X") else started


def is_running(process: ProcessId) -> bool:
    return start_time(process.pid) == process.start_time


def spawn(
    argv: Sequence[str], *, log: Path, netns: str | None = None, env: Mapping[str, str] | None = None
) -> ProcessId:
    """Start `argv` (inside the named network namespace, if given) in a session of its own,
    with stdin from /dev/null, stdout and stderr appended to `log`, and `env` added to ours."""
    command = ["ip", "netns", "exec", netns, *argv] if netns else list(argv)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as output:
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **env} if env else None,
        )
    started = start_time(child.pid)
    if started is None:
        child.wait()
        raise RuntimeError(f"{argv[0]} exited at once with {child.returncode}; see {log}")
    return ProcessId(child.pid, started)


def identify(pid: int) -> ProcessId | None:
    """The identity of a running process started by someone else (an Open vSwitch daemon)."""
    started = start_time(pid)
    return None if started is None else ProcessId(pid, started)


def stop(processes: Sequence[ProcessId], *, grace: float = 5.0) -> None:
    """SIGTERM every process that is still the one recorded, give them `grace` seconds together,
    then SIGKILL the rest and wait until they are gone."""
    alive = [process for process in processes if _signal(process, signal.SIGTERM)]
    deadline = time.monotonic() + grace
    while alive and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
        alive = [process for process in alive if is_running(process)]
    for process in alive:
        _signal(process, signal.SIGKILL)
    while any(is_running(process) for process in alive):
        time.sleep(_POLL_SECONDS)


def kill_all_in_netns(name: str) -> None:
    """SIGKILL every process inside the network namespace `name` (one the lab made, so every
    process in it is the lab's: a pod's server, a prober, an `exec`), and wait until they are gone."""
    found = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True, check=False)
    # Not the caller: `pyantctl lab` enters the underlay namespace to reach the API server.
    pids = [int(pid) for pid in found.stdout.split() if int(pid) != os.getpid()]
    members = [identified for pid in pids if (identified := identify(pid))]
    for process in members:
        _signal(process, signal.SIGKILL)
    while any(is_running(process) for process in members):
        time.sleep(_POLL_SECONDS)


def _signal(process: ProcessId, signum: signal.Signals) -> bool:
    if not is_running(process):
        return False
    try:
        os.kill(process.pid, signum)
    except ProcessLookupError:
        return False
    return True
