"""The faults a soak injects, behind one small interface.

A `Fault` is injected once and healed once; `heal()` returns when the fault is over (the cut
removed, the killed program running again under its supervisor). Two kinds:

* `AgentCutOff`: one node's agent cannot reach the controller for a while. An nftables table of
  the soak's in the node's network namespace drops the agent's packets to the controller's
  controlplane port (the established watch stalls, new connections time out), as a network
  partition would; healing deletes the table.
* `KillProgram`: SIGKILL to an agent, the controller, an ovs-vswitchd, kube-apiserver or etcd;
  the lab's supervisor (lab.supervisor) starts it again, and healing waits until it has.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import Protocol

from lab.layout import LabLayout
from lab.programs import Program, lab_programs
from lab.record import load

NFT_TABLE = "pyantrea_soak"
_RESTART_SECONDS = 120.0


class FaultFailed(RuntimeError):
    """A fault could not be injected or healed; the message says which and why."""


class Fault(Protocol):
    @property
    def title(self) -> str: ...

    def inject(self) -> None: ...

    def heal(self) -> None: ...


class AgentCutOff:
    def __init__(self, node: str, netns: str, controller_address: str, controller_port: int) -> None:
        self._node = node
        self._netns = netns
        self._rule = f"ip daddr {controller_address} tcp dport {controller_port} drop"

    @property
    def title(self) -> str:
        return f"agent of {self._node} cut off from the controller"

    def inject(self) -> None:
        script = (
            f"table inet {NFT_TABLE} {{\n"
            "  chain output { type filter hook output priority 0; policy accept;\n"
            f"    {self._rule}\n  }}\n}}\n"
        )
        self._nft(["-f", "-"], script)

    def heal(self) -> None:
        self._nft(["delete", "table", "inet", NFT_TABLE])

    def _nft(self, args: list[str], stdin: str | None = None) -> None:
        done = subprocess.run(
            ["ip", "netns", "exec", self._netns, "nft", *args],
            input=stdin, capture_output=True, text=True, check=False, timeout=30,
        )  # fmt: skip
        if done.returncode != 0:
            raise FaultFailed(f"nft {' '.join(args)} in {self._netns}: {done.stderr.strip()}")


class KillProgram:
    def __init__(self, layout: LabLayout, role: str, node: str = "") -> None:
        self._layout = layout
        self._role = role
        self._node = node
        self._before: Program | None = None

    @property
    def title(self) -> str:
        return f"kill -9 {self._role}" + (f" on {self._node}" if self._node else "")

    @property
    def program_title(self) -> str:
        """The program's title as lab.programs names it."""
        return f"{self._role} on {self._node}" if self._node else self._role

    def _program(self) -> Program:
        for program in lab_programs(load(self._layout.record)):
            if program.role == self._role and program.node == self._node:
                return program
        raise FaultFailed(f"the lab runs no {self._role} on {self._node or 'the control plane'}")

    def inject(self) -> None:
        program = self._program()
        if program.pid is None or not program.running:
            raise FaultFailed(f"{program.title} is not running ({program.state})")
        if program.state == "unsupervised":
            raise FaultFailed(f"{program.title} runs without a supervisor: nothing would start it again")
        self._before = program
        os.kill(program.pid, signal.SIGKILL)

    def heal(self) -> None:
        before = self._before
        if before is None:
            return
        deadline = time.monotonic() + _RESTART_SECONDS
        while True:
            now = self._program()
            if now.running and now.restarts > before.restarts and now.pid != before.pid:
                return
            if time.monotonic() > deadline:
                raise FaultFailed(
                    f"{now.title} did not come back within {_RESTART_SECONDS:.0f}s ({now.state}, "
                    f"last exit {now.last_exit})"
                )
            time.sleep(0.2)
