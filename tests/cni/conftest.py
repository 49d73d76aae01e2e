"""Fixtures of the CNI tests: a node (real OVS, datapath and CNI server) and pod sandboxes."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lab import netns
from lab.ovs import OvsInstance
from pyantrea_testing.cninode import Node, NodeSettings
from pyantrea_testing.cniruntime import Sandbox
from pyantrea_testing.names import unique_name

_pods = itertools.count()


@pytest.fixture
def node_settings(request: pytest.FixtureRequest) -> NodeSettings:
    """Parametrize indirectly to change the node's subnet, gate, IPAM directories or datapath."""
    return getattr(request, "param", NodeSettings())


@pytest.fixture
def node(ovs: OvsInstance, tmp_path: Path, node_settings: NodeSettings) -> Iterator[Node]:
    """A started node: br-int, gw0, the pipeline, the pod datapath and the CNI server."""
    running = Node(ovs, tmp_path / "node", node_settings)
    try:
        running.start()
        yield running
    finally:
        running.close()


@pytest.fixture
def sandboxes(node: Node) -> Iterator[Callable[..., Sandbox]]:
    """A factory of pod sandboxes (namespaces deleted afterwards) for `node`."""
    made: list[Sandbox] = []

    def make(name: str | None = None, namespace: str = "default", uid: str = "") -> Sandbox:
        n = next(_pods)
        sandbox = Sandbox(
            namespace, name or f"pod-{n}", unique_name("pc"), f"c{n:04d}{unique_name('')}", node.socket, uid
        )
        netns.create(sandbox.netns_name)
        made.append(sandbox)
        return sandbox

    try:
        yield make
    finally:
        for sandbox in made:
            netns.delete(sandbox.netns_name)
