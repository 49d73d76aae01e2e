"""`lab.json`: the record of one lab, written ahead of every step so `down` can undo exactly that.

`up` records a namespace before it creates it and a program as soon as it has started, and
saves the record atomically after each change; `down` (also after a crash half-way through
`up`) stops the recorded processes and deletes the recorded namespaces, nothing else. The
pods' namespaces are recorded by each node's kubelet in its own directory (lab.kubelet.records).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from lab.processes import ProcessId

STARTING = "starting"
RUNNING = "running"


@dataclass(frozen=True, slots=True)
class ProcessRecord:
    """One long-running program: what it is (`role`, on which `node`), its first process, where
    it logs, and the supervisor that starts it again when it exits (lab.supervised) with the
    state file that supervisor keeps (its current pid, its restarts)."""

    role: str
    node: str
    pid: int
    start_time: int
    log: str
    supervisor_pid: int = 0
    supervisor_start_time: int = 0
    state: str = ""

    @property
    def id(self) -> ProcessId:
        """The program's first process (the current one is in its state file)."""
        return ProcessId(self.pid, self.start_time)

    @property
    def supervisor(self) -> ProcessId | None:
        return ProcessId(self.supervisor_pid, self.supervisor_start_time) if self.supervisor_pid else None

    @property
    def title(self) -> str:
        return f"{self.role} on {self.node}" if self.node else self.role


@dataclass(frozen=True, slots=True)
class NodeRecord:
    name: str
    netns: str
    address: str
    """The node's underlay address with its prefix length, e.g. 192.168.77.1/24."""
    pod_cidr: str


@dataclass(frozen=True, slots=True)
class LabRecord:
    prefix: str
    tunnel: str
    underlay: str
    """The underlay's network namespace."""
    api_url: str
    nodes: tuple[NodeRecord, ...]
    made_dir: bool
    """Whether `up` made the lab directory (then `down` removes it, else only its contents)."""
    state: str = STARTING
    namespaces: tuple[str, ...] = ()
    """Every network namespace `up` made (underlay, nodes), in creation order."""
    processes: tuple[ProcessRecord, ...] = field(default=())

    def process(self, role: str, node: str = "") -> ProcessRecord | None:
        return next((p for p in self.processes if p.role == role and p.node == node), None)

    def with_namespace(self, name: str) -> LabRecord:
        return replace(self, namespaces=(*self.namespaces, name))

    def with_process(self, process: ProcessRecord) -> LabRecord:
        return replace(self, processes=(*self.processes, process))


def save(path: Path, record: LabRecord) -> None:
    """Replace the record file (written aside, synced, renamed)."""
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w") as file:
        json.dump(asdict(record), file, indent=2)
        file.write("\n")
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def load(path: Path) -> LabRecord:
    """The record at `path`; raises FileNotFoundError, or ValueError for a file that is not one."""
    document: Any = json.loads(path.read_text())
    try:
        return LabRecord(
            prefix=document["prefix"],
            tunnel=document["tunnel"],
            underlay=document["underlay"],
            api_url=document["api_url"],
            nodes=tuple(NodeRecord(**node) for node in document["nodes"]),
            made_dir=document["made_dir"],
            state=document["state"],
            namespaces=tuple(document["namespaces"]),
            processes=tuple(ProcessRecord(**process) for process in document["processes"]),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not a lab record: {exc}") from exc
