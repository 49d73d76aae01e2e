"""A real etcd and kube-apiserver of the pinned release on loopback, for the benchmarks that
read from one (no controllers: the benchmarks write every object themselves)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from ipaddress import IPv4Address
from pathlib import Path

from lab.kubernetes.components import ClusterSettings
from lab.kubernetes.controlplane import ControlPlane
from lab.processes import ProcessId, stop
from lab.up import free_loopback_port


@contextmanager
def loopback_api_server(directory: Path) -> Iterator[Path]:
    """The admin kubeconfig of etcd and a kube-apiserver on loopback with their files under
    `directory`; both stopped on the way out."""
    settings = ClusterSettings(
        IPv4Address("127.0.0.1"),
        api_port=free_loopback_port(),
        etcd_client_port=free_loopback_port(),
        etcd_peer_port=free_loopback_port(),
        serve_health=False,
    )
    processes: list[ProcessId] = []
    plane = ControlPlane(directory, settings)
    plane.prepare(nodes=())
    try:
        plane.start(lambda _role, process, _log: processes.append(process), controllers=False)
        yield plane.admin_kubeconfig
    finally:
        stop(processes)
