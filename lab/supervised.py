"""The lab's programs under supervision: starting them, reading their state, stopping them.

Every long-running program of a lab runs under its own `lab.supervisor` (a small process that
starts it again when it exits, with back-off). `start_supervised` writes the program's spec
beside its state file, starts the supervisor detached and returns once the program runs;
`program_state` reads what the supervisor wrote (current pid, restarts, last exit);
`stop_supervised` ends supervision first, so nothing is started again, then stops whatever is
still running, also a program whose supervisor was killed.

    started = start_supervised(["etcd", ...], directory=lab/"kubernetes"/"etcd", output=log)
    state = program_state(started.state)      # ProgramState(pid=..., restarts=0, state="running")
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.processes import ProcessId, is_running, spawn, stop
from lab.supervisor import RUNNING, STOP_GRACE_SECONDS, Spec

_START_TIMEOUT = 10.0
_POLL = 0.01


class SupervisorFailed(RuntimeError):
    """A supervisor did not start its program; the message has the end of its log."""


@dataclass(frozen=True, slots=True)
class Supervised:
    """A program as started: its supervisor, the program's first process, the state file."""

    supervisor: ProcessId
    program: ProcessId
    state: Path


@dataclass(frozen=True, slots=True)
class ProgramState:
    """What a supervisor last wrote about its program, checked against the live processes."""

    state: str
    """`running`, `waiting` (exited, to be started again), `stopped`, or `unknown` (no state file)."""
    pid: int | None
    start_time: int | None
    running: bool
    """Whether the process named by pid and start time is alive now."""
    restarts: int
    last_exit: str | None
    """`exit code N` or `signal SIGKILL` of the last exit, if any."""
    supervisor: int | None

    @property
    def process(self) -> ProcessId | None:
        if self.pid is None or self.start_time is None:
            return None
        return ProcessId(self.pid, self.start_time)


def start_supervised(
    argv: Sequence[str],
    *,
    directory: Path,
    output: Path,
    netns: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Supervised:
    """Start `argv` (in network namespace `netns`, with `env` added) under a supervisor whose spec,
    state and own log live in `directory`; the program's output is appended to `output`."""
    directory.mkdir(parents=True, exist_ok=True)
    spec = Spec(list(argv), netns, dict(env or {}), output, directory / "state.json")
    spec_path = directory / "spec.json"
    spec_path.write_text(spec.dump())
    spec.state.unlink(missing_ok=True)
    log = directory / "supervisor.log"
    supervisor = spawn([sys.executable, "-m", "lab.supervisor", str(spec_path)], log=log)
    deadline = time.monotonic() + _START_TIMEOUT
    while True:
        state = program_state(spec.state)
        if state.process is not None:
            return Supervised(supervisor, state.process, spec.state)
        problem = None
        if state.state not in ("unknown", RUNNING):
            problem = f"{argv[0]} did not start ({state.last_exit}); see {output}"
        elif not is_running(supervisor) or time.monotonic() > deadline:
            problem = f"the supervisor of {argv[0]} did not start it; see {log}"
        if problem is not None:
            stop_supervised([Stoppable(supervisor, spec.state)])
            raise SupervisorFailed(problem)
        time.sleep(_POLL)


def program_state(path: Path) -> ProgramState:
    try:
        document: Any = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return ProgramState("unknown", None, None, False, 0, None, None)
    pid, started = document.get("pid"), document.get("startTime")
    running = pid is not None and started is not None and is_running(ProcessId(pid, started))
    return ProgramState(
        state=document["state"],
        pid=pid,
        start_time=started,
        running=running,
        restarts=int(document.get("restarts") or 0),
        last_exit=document.get("lastExit"),
        supervisor=document.get("supervisor"),
    )


@dataclass(frozen=True, slots=True)
class Stoppable:
    """What `stop_supervised` needs of one program: its supervisor, its state file, and the
    processes it is known to have had (the first one, in case no state file was ever written)."""

    supervisor: ProcessId | None
    state: Path | None
    known: tuple[ProcessId, ...] = ()


def stop_supervised(programs: Sequence[Stoppable]) -> None:
    """End supervision (SIGTERM: each supervisor stops its program and exits; SIGKILL after the
    grace), then stop every program process still running (its supervisor was killed, say)."""
    stop([p.supervisor for p in programs if p.supervisor is not None], grace=STOP_GRACE_SECONDS + 2)
    left: list[ProcessId] = []
    for program in programs:
        current = program_state(program.state).process if program.state is not None else None
        for process in (current, *program.known):
            if process is not None and process not in left and is_running(process):
                left.append(process)
    stop(left)
