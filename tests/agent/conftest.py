"""Fixtures for the agent's tests: an OVSDB client on the test's own Open vSwitch; a lab node
with a real control plane on its underlay, for the agent program as a process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from ipaddress import IPv4Interface
from pathlib import Path

import pytest

from lab.kubernetes.components import ClusterSettings
from lab.kubernetes.controlplane import ControlPlane
from lab.nodes import NodeSet
from lab.ovs import OvsInstance
from lab.processes import ProcessId, stop
from pyantrea_ovsdb import OvsdbClient
from pyantrea_testing.names import unique_name
from pyantrea_testing.ovs import require_root_and_ovs

API_ADDRESS = IPv4Interface("192.168.77.254/24")
"""The API server's address on the underlay, reachable from the nodes."""


@pytest.fixture
def ovsdb(ovs: OvsInstance) -> Iterator[OvsdbClient]:
    """An `OvsdbClient` connected to the `ovs` fixture's ovsdb-server, closed afterwards.

    The client is not tied to an event loop (its worker answers through thread futures), so
    tests drive it with one `asyncio.run` per step.
    """
    client = asyncio.run(OvsdbClient.connect(ovs.paths.db_remote))
    try:
        yield client
    finally:
        asyncio.run(client.close())


@pytest.fixture
def node_set(tmp_path: Path) -> Iterator[NodeSet]:
    """One lab node; the underlay holds the API server's address."""
    require_root_and_ovs()
    with NodeSet(tmp_path, prefix=unique_name("ap"), count=1) as nodes:
        nodes.underlay.set_address(API_ADDRESS)
        yield nodes


@pytest.fixture
def kubernetes(node_set: NodeSet, tmp_path: Path) -> Iterator[ControlPlane]:
    """The real control plane in the underlay namespace of `node_set`, as in the lab; its
    `admin_kubeconfig` reaches it from the nodes' namespaces and the underlay's."""
    plane = ControlPlane(
        tmp_path / "kubernetes", ClusterSettings(API_ADDRESS.ip), netns=node_set.underlay.name
    )
    plane.prepare(nodes=[node.name for node in node_set])
    processes: list[ProcessId] = []
    try:
        plane.start(lambda _role, process, _log: processes.append(process))
        yield plane
    finally:
        stop(processes)
