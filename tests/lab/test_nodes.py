"""The multi-node harness: node namespaces on an underlay, one Open vSwitch each, all gone on stop."""

from __future__ import annotations

import os

import pytest

from lab import netns
from lab.nodes import NodeSet
from pyantrea_testing.names import unique_name
from pyantrea_testing.ovs import require_root_and_ovs

pytestmark = pytest.mark.ovs


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_nodes_share_an_underlay_and_leave_nothing_behind(tmp_path):
    require_root_and_ovs()
    nodes = NodeSet(tmp_path, prefix=unique_name("ns"), count=3).start()
    try:
        assert [n.name for n in nodes] == ["node1", "node2", "node3"]
        assert [str(n.pod_cidr) for n in nodes] == ["172.16.1.0/24", "172.16.2.0/24", "172.16.3.0/24"]
        assert [str(n.address) for n in nodes] == ["192.168.77.1/24", "192.168.77.2/24", "192.168.77.3/24"]
        for other in ("192.168.77.2", "192.168.77.3"):
            assert netns.run(nodes[0].netns, "ping", "-c", "1", "-W", "2", other, check=False).returncode == 0
        pids = [n.ovs.pid(d) for n in nodes for d in ("ovsdb-server", "ovs-vswitchd")]
        assert all(pid is not None and _alive(pid) for pid in pids)
        node = nodes[1].node_object()
        assert node["spec"]["podCIDR"] == "172.16.2.0/24"
        assert node["status"]["addresses"][0] == {"type": "InternalIP", "address": "192.168.77.2"}
    finally:
        nodes.stop()
    assert not any(netns.exists(n.netns) for n in nodes)
    assert not netns.exists(nodes.underlay.name)
    assert not any(_alive(pid) for pid in pids if pid is not None)


def test_a_failed_start_cleans_up(tmp_path):
    require_root_and_ovs()
    prefix = unique_name("nf")
    netns.create(f"{prefix}-n2")  # the second node's namespace is taken: start fails half-way
    try:
        nodes = NodeSet(tmp_path, prefix=prefix, count=2)
        with pytest.raises(FileExistsError):
            nodes.start()
        assert not netns.exists(f"{prefix}-n1")
        assert not netns.exists(f"{prefix}-ul")
        assert netns.exists(f"{prefix}-n2")  # not ours: left alone
    finally:
        netns.delete(f"{prefix}-n2")
