"""A real Kubernetes control plane for tests: etcd, kube-apiserver, kube-controller-manager and
kube-scheduler on the host's loopback, on free ports, in a directory of the test's; every
process stopped by pid when the block ends, also on failure."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Sequence
from ipaddress import IPv4Address
from pathlib import Path
from types import TracebackType

from kubernetes.client import ApiException

from lab.kubernetes import binaries
from lab.kubernetes.components import ClusterSettings
from lab.kubernetes.controlplane import ControlPlane
from lab.kubernetes.kubeconfigs import write_kubeconfig
from lab.processes import ProcessId, stop
from lab.up import free_loopback_port
from pyantrea_kube.resources import SERVICE_ACCOUNTS
from pyantrea_kube.rest import RestClient


def wait_for_default_account(rest: RestClient, namespace: str, *, timeout: float = 30.0) -> None:
    """Until the controller manager has made the namespace's `default` ServiceAccount, without
    which the ServiceAccount admission refuses pods."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            rest.get(SERVICE_ACCOUNTS, namespace, "default")
            return
        except ApiException as exc:
            if exc.status != 404 or time.monotonic() > deadline:
                raise
        time.sleep(0.05)


class LoopbackCluster:
    """`with LoopbackCluster(tmp_path, nodes=["node1"]) as cluster:` ... `cluster.admin_kubeconfig`."""

    def __init__(self, directory: Path, *, nodes: Sequence[str] = ()) -> None:
        settings = ClusterSettings(
            IPv4Address("127.0.0.1"),
            api_port=free_loopback_port(),
            etcd_client_port=free_loopback_port(),
            etcd_peer_port=free_loopback_port(),
            serve_health=False,
        )
        self.plane = ControlPlane(directory, settings)
        self.nodes = tuple(nodes)
        self.processes: dict[str, ProcessId] = {}

    @property
    def admin_kubeconfig(self) -> Path:
        return self.plane.admin_kubeconfig

    def node_kubeconfig(self, node: str) -> Path:
        return self.plane.node_kubeconfig(node)

    def start(self) -> LoopbackCluster:
        self.plane.prepare(nodes=self.nodes)
        try:
            self.plane.start(lambda role, process, _log: self.processes.__setitem__(role, process))
        except BaseException:
            self.stop()
            raise
        return self

    def __enter__(self) -> LoopbackCluster:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        stop(list(self.processes.values()))

    # -- faults ------------------------------------------------------------------------------

    def stop_apiserver(self, role: str = "kube-apiserver") -> None:
        stop([self.processes.pop(role)])

    def start_apiserver(
        self, role: str = "kube-apiserver", *, port: int | None = None, extra: Sequence[str] = ()
    ) -> int:
        """Start `role`'s kube-apiserver again (its command line as before), or with `port` a
        second one on the same etcd under that role, with `extra` flags; returns its port."""
        argv = [*self.plane.commands["kube-apiserver"], *extra]
        if port is not None:
            argv = [f"--secure-port={port}" if arg.startswith("--secure-port=") else arg for arg in argv]
            argv = [
                f"--audit-log-path={self.plane.log(role)}.audit"
                if arg.startswith("--audit-log-path=")
                else arg
                for arg in argv
            ]
        self.plane.start_apiserver(
            argv, lambda r, process, _log: self.processes.__setitem__(r, process), role=role
        )
        return port or self.plane.settings.api_port

    def replace_with_empty(self) -> None:
        """A fresh, empty cluster at the same address: the API server and etcd stop, etcd's data
        is wiped, and a new etcd and API server start (as after restoring etcd from nothing);
        the controller manager and the scheduler stay and find the new server."""
        self.stop_apiserver()
        stop([self.processes.pop("etcd")])
        shutil.rmtree(self.plane.etcd_data)
        self.plane.start_etcd(lambda role, process, _log: self.processes.__setitem__(role, process))
        self.start_apiserver()

    def compact_etcd(self) -> int:
        """Compact etcd's history up to its current revision (as its auto-compaction does in time);
        returns that revision."""
        endpoint = f"--endpoints={self.plane.settings.etcd_url}"
        etcdctl = str(binaries.bin_dir() / "etcdctl")
        status = subprocess.run([etcdctl, endpoint, "endpoint", "status", "-w", "json"],
                                capture_output=True, text=True, check=True, timeout=30)  # fmt: skip
        revision = int(json.loads(status.stdout)[0]["Status"]["header"]["revision"])
        subprocess.run(
            [etcdctl, endpoint, "compact", str(revision)], capture_output=True, check=True, timeout=30
        )
        return revision

    def kubeconfig_for(self, path: Path, *, port: int) -> Path:
        """The admin's kubeconfig, for the API server on `port`."""
        pair = self.plane.pki.pair("admin")
        return write_kubeconfig(
            path, server=f"https://127.0.0.1:{port}", ca=self.plane.pki.ca.cert,
            user="kubernetes-admin", cert=pair.cert, key=pair.key,
        )  # fmt: skip
