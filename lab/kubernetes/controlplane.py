"""`ControlPlane`: the lab cluster's etcd, kube-apiserver, kube-controller-manager and
kube-scheduler, started in order in one network namespace (or the caller's), each process
handed to the caller to record, with the files they need prepared first.

    plane = ControlPlane(directory, settings, netns="lab-ul")
    plane.prepare(nodes=["node1", "node2"])        # PKI, kubeconfigs, configs
    plane.start(on_started)                       # returns once the API server is ready
    plane.admin_kubeconfig                        # system:masters, for the lab and kubectl
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from ipaddress import IPv4Address
from pathlib import Path

from lab import netns as netnses
from lab.kubernetes import binaries, components
from lab.kubernetes.components import ClusterSettings
from lab.kubernetes.kubeconfigs import write_kubeconfig
from lab.kubernetes.pki import Identity, Pki
from lab.processes import ProcessId, is_running, spawn

Started = Callable[[str, ProcessId, Path], None]
"""Told each process as it starts: its role, its identity, its log."""
Launch = Callable[[str, list[str], Path], ProcessId]
"""Starts one program in the plane's namespace: its role, command line and log; returns its
process (the lab starts each under a supervisor; by default it is just started detached)."""

_READY_TIMEOUT = 60.0
_POLL = 0.1


class ControlPlaneFailed(RuntimeError):
    """A control plane program exited or did not get ready; the message has its log's end."""


def node_user(node: str) -> str:
    return f"system:node:{node}"


class ControlPlane:
    def __init__(
        self,
        directory: Path,
        settings: ClusterSettings,
        *,
        netns: str | None = None,
        launch: Launch | None = None,
    ) -> None:
        self.directory = directory
        self.settings = settings
        self.netns = netns
        self._launch = launch or (lambda _role, argv, log: spawn(argv, log=log, netns=netns))
        self.pki = Pki(directory / "pki")
        self.commands: dict[str, list[str]] = {}
        """Each started program's command line, by role (to start one again)."""

    # -- files -------------------------------------------------------------------------------

    @property
    def admin_kubeconfig(self) -> Path:
        return self.directory / "admin.kubeconfig"

    def node_kubeconfig(self, node: str) -> Path:
        return self.directory / f"node-{node}.kubeconfig"

    @property
    def audit_log(self) -> Path:
        return self.directory / "audit.log"

    def log(self, role: str) -> Path:
        return self.directory / f"{role}.log"

    def prepare(self, *, nodes: Sequence[str]) -> None:
        """Make the PKI (a client certificate per component and per node's kubelet) and the kubeconfigs."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        clients = {
            "admin": Identity("kubernetes-admin", ("system:masters",)),
            "controller-manager": Identity("system:kube-controller-manager"),
            "scheduler": Identity("system:kube-scheduler"),
            **{f"node-{node}": Identity(node_user(node), ("system:nodes",)) for node in nodes},
        }
        # 127.0.0.1 too: kubectl on the host reaches the API server through lab.apiforward
        addresses = dict.fromkeys([self.settings.api_address, IPv4Address("127.0.0.1")])
        self.pki.create(server_addresses=list(addresses), clients=clients)
        for name, identity in clients.items():
            pair = self.pki.pair(name)
            write_kubeconfig(
                self.directory / f"{name}.kubeconfig", server=self.settings.api_url, ca=self.pki.ca.cert,
                user=identity.name, cert=pair.cert, key=pair.key,
            )  # fmt: skip
        (self.directory / "audit-policy.yaml").write_text(components.AUDIT_POLICY)
        (self.directory / "scheduler.yaml").write_text(
            components.scheduler_config(self.directory / "scheduler.kubeconfig")
        )

    # -- processes ---------------------------------------------------------------------------

    def start(self, started: Started, *, controllers: bool = True) -> None:
        """Start etcd, the API server (and wait until it is ready), and unless `controllers` is
        False the controller manager and the scheduler; ControlPlaneFailed names the program
        that failed, with its log's end."""
        settings, directory = self.settings, self.directory
        self.start_etcd(started)
        argv = components.apiserver(
            binaries.program("kube-apiserver"), self.pki, settings,
            audit_policy=directory / "audit-policy.yaml", audit_log=self.audit_log,
        )  # fmt: skip
        self.start_apiserver(argv, started)
        if not controllers:
            return
        argv = components.controller_manager(
            binaries.program("kube-controller-manager"), self.pki, settings,
            directory / "controller-manager.kubeconfig",
        )  # fmt: skip
        self._spawn("kube-controller-manager", argv, started)
        argv = components.scheduler(
            binaries.program("kube-scheduler"),
            settings,
            directory / "scheduler.yaml",
            directory / "scheduler.kubeconfig",
        )
        self._spawn("kube-scheduler", argv, started)

    @property
    def etcd_data(self) -> Path:
        return self.directory / "etcd"

    def start_etcd(self, started: Started) -> ProcessId:
        """Start etcd (on the data in `etcd_data`, a new cluster if there is none) and wait
        until it is healthy."""
        argv = components.etcd(binaries.program("etcd"), self.etcd_data, self.settings)
        etcd = self._spawn("etcd", argv, started)
        url = f"{self.settings.etcd_url}/health"
        self._wait("etcd", etcd, lambda: _get(url, None) == (200, True))
        return etcd

    def start_apiserver(
        self, argv: list[str], started: Started, *, role: str = "kube-apiserver"
    ) -> ProcessId:
        """Start a kube-apiserver with `argv` (again, or another one on other flags) and wait
        until it answers /readyz on the port its flags give."""
        port = next(int(arg.split("=", 1)[1]) for arg in argv if arg.startswith("--secure-port="))
        url = f"https://{self.settings.api_address}:{port}/readyz"
        process = self._spawn(role, argv, started)
        context = ssl.create_default_context(cafile=str(self.pki.ca.cert))
        self._wait(role, process, lambda: _get(url, context)[0] == 200)
        return process

    def _spawn(self, role: str, argv: list[str], started: Started) -> ProcessId:
        self.commands[role] = argv
        process = self._launch(role, argv, self.log(role))
        started(role, process, self.log(role))
        return process

    def _wait(self, role: str, process: ProcessId, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + _READY_TIMEOUT
        while True:
            if not is_running(process):
                raise ControlPlaneFailed(
                    f"{role} exited; the end of {self.log(role)}:\n{_tail(self.log(role))}"
                )
            if self._in_netns(ready):
                return
            if time.monotonic() > deadline:
                raise ControlPlaneFailed(
                    f"{role} was not ready within {_READY_TIMEOUT:.0f}s; the end of {self.log(role)}:\n"
                    f"{_tail(self.log(role))}"
                )
            time.sleep(_POLL)

    def _in_netns(self, job: Callable[[], bool]) -> bool:
        return job() if self.netns is None else netnses.call_in(self.netns, job)


def _get(url: str, context: ssl.SSLContext | None) -> tuple[int, object]:
    """(status, decoded JSON body or text) of GET `url`; status 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=2.0, context=context) as response:
            body = response.read().decode(errors="replace")
            status = response.status
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except (OSError, urllib.error.URLError):
        return 0, ""
    try:
        document = json.loads(body)
    except ValueError:
        return status, body
    return status, document.get("health") == "true" if isinstance(
        document, dict
    ) and "health" in document else document


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").rstrip().splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"
