"""A lab as the end-to-end tests drive it: only through the `pyantctl` command line.

Each `Lab` has a directory and a namespace prefix of its own (`PYANTREA_LAB_DIR`,
`PYANTREA_LAB_PREFIX`), so tests never touch a user's lab or each other's. `destroy()` runs
`pyantctl lab down` and then makes sure, by the lab's own names, that nothing is left even when
`down` itself failed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lab import netns
from lab.kubernetes import binaries
from lab.processes import kill_all_in_netns, start_time
from lab.programs import stoppable
from lab.record import load
from lab.supervised import stop_supervised
from pyantrea_testing.names import unique_name
from pyantrea_testing.ovs import require_root_and_ovs

PYANTCTL = Path(sys.executable).parent / "pyantctl"
COMMAND_TIMEOUT = 240


class CommandFailed(AssertionError):
    pass


@dataclass
class Lab:
    directory: Path
    prefix: str
    files: Path
    up_output: str = ""
    _counter: int = field(default=0)

    @property
    def environ(self) -> dict[str, str]:
        return {**os.environ, "PYANTREA_LAB_DIR": str(self.directory), "PYANTREA_LAB_PREFIX": self.prefix}

    def run(
        self, *args: str, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`pyantctl lab ARGS...`; with `check`, a non-zero exit fails the test with the output."""
        done = subprocess.run(
            [str(PYANTCTL), "lab", *args], env=self.environ, input=stdin, capture_output=True, text=True,
            timeout=COMMAND_TIMEOUT, check=False,
        )  # fmt: skip
        if check and done.returncode != 0:
            raise CommandFailed(
                f"pyantctl lab {' '.join(args)} exited {done.returncode}\n"
                f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
            )
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args).stdout)

    def up(self, nodes: int, tunnel: str = "vxlan", *options: str) -> Lab:
        self.up_output = self.run("up", "--nodes", str(nodes), "--tunnel", tunnel, *options).stdout
        return self

    def write(self, text: str) -> Path:
        """A manifest file with `text` (dedented) in it."""
        self._counter += 1
        path = self.files / f"manifest-{self._counter}.yaml"
        path.write_text(textwrap.dedent(text))
        return path

    def apply(self, text: str, *options: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("apply", "-f", str(self.write(text)), *options, check=check)

    def pods(self, namespace: str) -> dict[str, dict[str, Any]]:
        listing = self.json("get", "pods", "-n", namespace, "-o", "json")
        return {pod["metadata"]["name"]: pod for pod in listing["items"]}

    def probe(self, port: int, *options: str) -> dict[str, dict[str, bool]]:
        document = self.json("probe", "--port", str(port), "-o", "json", *options)
        return document["reachable"]

    def verdicts(self, port: int, *options: str) -> dict[str, dict[str, str]]:
        document = self.json("probe", "--port", str(port), "-o", "json", *options)
        return document["verdicts"]

    def status(self) -> dict[str, Any]:
        return self.json("status", "-o", "json")

    def namespaces(self) -> list[str]:
        """The lab's network namespaces that exist now."""
        return sorted(path.name for path in netns.NETNS_DIR.glob(f"{self.prefix}-*"))

    def processes(self) -> set[tuple[int, int]]:
        """(pid, start time) of every live process whose command line names this lab's directory
        or underlay namespace: its programs and their supervisors, wherever they run."""
        marks = (str(self.directory), f"{self.prefix}-ul")
        found = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            started = start_time(int(entry.name))
            if started is not None and any(mark.encode() in arg for arg in argv for mark in marks):
                found.add((int(entry.name), started))
        return found

    def destroy(self) -> None:
        try:
            self.run("down", check=False)
        finally:
            # If down failed: every program the record names with its supervisor (some run outside
            # the lab's namespaces, like the kubectl relay) and everything in the lab's namespaces
            # is the lab's.
            with contextlib.suppress(OSError, ValueError):
                stop_supervised([stoppable(p) for p in load(self.directory / "lab.json").processes])
            for name in self.namespaces():
                kill_all_in_netns(name)
                netns.delete(name)
            shutil.rmtree(self.directory, ignore_errors=True)


def kubectl(lab: Lab, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The real kubectl of the pinned release, on the host, with `pyantctl lab kubeconfig`."""
    kubeconfig = lab.run("kubeconfig").stdout.strip()
    return subprocess.run(
        [str(binaries.program("kubectl")), "--kubeconfig", kubeconfig, *args],
        capture_output=True, text=True, timeout=60, check=check,
    )  # fmt: skip


def new_lab(factory: pytest.TempPathFactory) -> Lab:
    """A lab (not started) with a directory and a namespace prefix of its own."""
    require_root_and_ovs()
    base = factory.mktemp("lab")
    files = base / "files"
    files.mkdir()
    return Lab(directory=base / "state", prefix=unique_name("e"), files=files)


def pod_manifest(
    namespace: str, name: str, *, node: str | None = None, labels: str = "", ports: str = ""
) -> str:
    """A pod of the lab serving TCP 80 and UDP 81 (or `ports`, a YAML flow list)."""
    ports = ports or "[{containerPort: 80}, {containerPort: 81, protocol: UDP}]"
    node_line = f"\n  nodeName: {node}" if node else ""
    return f"""\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: {namespace}
  labels: {{pod: {name}{", " + labels if labels else ""}}}
spec:{node_line}
  containers:
  - name: server
    image: lab
    ports: {ports}
---
"""


def namespace_manifest(name: str, labels: str = "") -> str:
    return f"""\
apiVersion: v1
kind: Namespace
metadata:
  name: {name}
  labels: {{{labels}}}
---
"""


def all_reachable(matrix: dict[str, dict[str, bool]]) -> bool:
    return all(all(row.values()) for row in matrix.values())


def assert_first_packets_arrive(lab: Lab, namespace: str) -> None:
    """Every pod of `namespace` reaches every pod on another node with one single ping and one
    single TCP connection whose first SYN got through (no segment sent again)."""
    pods = lab.pods(namespace)
    for name, pod in pods.items():
        source = f"{namespace}/{name}"
        for target in pods.values():
            if target["spec"]["nodeName"] == pod["spec"]["nodeName"]:
                continue
            ip = target["status"]["podIP"]
            ping = lab.run("exec", source, "--", "ping", "-c", "1", "-W", "2", ip, check=False)
            assert ping.returncode == 0, f"{source} -> {ip}: {ping.stdout}{ping.stderr}"
            answer = lab.run("exec", source, "--", "nc", "-w", "3", ip, "80", check=False).stdout
            assert answer.startswith(f"{namespace}/{target['metadata']['name']}"), (
                f"{source} -> {ip}: {answer!r}"
            )
        counters = lab.run("exec", source, "--", "nstat", "-saz", "TcpRetransSegs").stdout
        assert re.search(r"TcpRetransSegs\s+0\b", counters), f"{source} sent segments again:\n{counters}"
