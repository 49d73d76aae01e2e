"""Cross-node pod traffic over each userspace tunnel type, from the very first packet.

On the userspace datapath OVS resolves a tunnel's next hop with a neighbour cache of its own and
drops the packet that misses it; the agent fills that cache with every peer node before pods
talk, and keeps it right as nodes come and go.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address

import pytest

from pyantrea_kube.resources import NODES
from pyantrea_testing.names import unique_name
from pyantrea_testing.ovs import require_root_and_ovs
from tests.agent.cluster import Cluster, Pod, ping, tcp_exchange, wait_until

pytestmark = pytest.mark.ovs


def tcp_retransmissions(pod: Pod) -> int:
    """Segments (SYNs included) the pod's kernel sent again: a first SYN lost shows here."""
    text = pod.run("nstat", "-saz", "TcpRetransSegs").stdout
    return int(re.search(r"TcpRetransSegs\s+(\d+)", text).group(1))


def tunnel_neighbours(cluster: Cluster, index: int) -> set[IPv4Address]:
    shown = cluster.nodes[index].ovs.appctl("tnl/neigh/show")
    return {IPv4Address(m) for m in re.findall(r"^(\d+\.\d+\.\d+\.\d+)\s", shown, re.MULTILINE)}


@pytest.mark.parametrize("tunnel_type", ["vxlan", "geneve", "gre"])
def test_the_first_ping_and_connection_to_every_other_node_arrive(tmp_path, tunnel_type):
    require_root_and_ovs()
    with Cluster(tmp_path, prefix=unique_name("tt"), count=3, tunnel_type=tunnel_type).start() as cluster:
        assert re.search(rf"Interface tun0\n\s+type: {tunnel_type}\n", cluster.nodes[0].ovs.vsctl("show"))
        pods = [cluster.add_pod(node, f"p{i}") for i, node in enumerate(cluster.nodes)]
        for source in pods:
            for target in pods:
                if target is not source:
                    assert ping(source.netns, target.ip.ip, count=1), f"{source.name} -> {target.name}"
        for port, (source, target) in enumerate(zip(pods, pods[1:] + pods[:1], strict=True), start=5201):
            tcp_exchange(target, source, port=port)
            assert tcp_retransmissions(source) == 0, f"{source.name} sent a segment again"


def test_nodes_that_come_and_go(tmp_path):
    """A node added later is reached from the first packet; a deleted node leaves the cache."""
    require_root_and_ovs()
    with Cluster(tmp_path, prefix=unique_name("tn"), count=3).start(joined=2) as cluster:
        n1, n2, n3 = cluster.nodes
        assert tunnel_neighbours(cluster, 0) == {n2.address.ip}
        cluster.join(n3)
        assert wait_until(lambda: tunnel_neighbours(cluster, 0) == {n2.address.ip, n3.address.ip})
        a1, a3 = cluster.add_pod(n1, "a1"), cluster.add_pod(n3, "a3")
        assert ping(a1.netns, a3.ip.ip, count=1)
        assert ping(a3.netns, a1.ip.ip, count=1)
        cluster.rest.delete(NODES, None, n2.name)
        assert wait_until(lambda: tunnel_neighbours(cluster, 0) == {n3.address.ip})
        assert ping(a1.netns, a3.ip.ip, count=1)
