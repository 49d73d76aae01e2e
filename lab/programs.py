"""The lab's programs as they run now: one `Program` per recorded program, from the lab's record
and the state files of their supervisors (lab.supervised).

    for program in lab_programs(load(layout.record)):
        print(program.title, program.pid, program.restarts, program.state)

`lab status` shows these; a soak test reads them to find what to kill and to check that it came
back (a new pid, one more restart).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lab.processes import is_running
from lab.record import LabRecord, ProcessRecord
from lab.supervised import Stoppable, program_state


@dataclass(frozen=True, slots=True)
class Program:
    role: str
    """`etcd`, `kube-apiserver`, ..., `controller`, `agent`, `kubelet`, `ovsdb-server`, ..."""
    node: str
    """The node it serves, or "" for the control plane and the kubectl relay."""
    pid: int | None
    """Its current process (None while its supervisor waits to start it again)."""
    start_time: int | None
    running: bool
    restarts: int
    state: str
    """`running`, `waiting` (exited; to be started again), `stopped`, or `unsupervised`."""
    last_exit: str | None
    supervisor_pid: int | None
    supervisor_running: bool
    log: str

    @property
    def title(self) -> str:
        return f"{self.role} on {self.node}" if self.node else self.role


def program(record: ProcessRecord) -> Program:
    supervisor = record.supervisor
    if supervisor is None or not record.state:
        running = is_running(record.id)
        return Program(
            record.role, record.node, record.pid, record.start_time, running, 0, "unsupervised",
            None, None, False, record.log,
        )  # fmt: skip
    state = program_state(Path(record.state))
    return Program(
        role=record.role,
        node=record.node,
        pid=state.pid,
        start_time=state.start_time,
        running=state.running,
        restarts=state.restarts,
        state=state.state,
        last_exit=state.last_exit,
        supervisor_pid=supervisor.pid,
        supervisor_running=is_running(supervisor),
        log=record.log,
    )


def lab_programs(record: LabRecord) -> list[Program]:
    """Every program the lab's record names, in the order `up` started them."""
    return [program(process) for process in record.processes]


def stoppable(record: ProcessRecord) -> Stoppable:
    return Stoppable(record.supervisor, Path(record.state) if record.state else None, (record.id,))
