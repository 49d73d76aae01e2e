"""Cross-node pod traffic over each userspace tunnel type: geneve and gre (vxlan: test_datapath_cluster)."""

from __future__ import annotations

import re

import pytest

from tests.agent.cluster import Cluster, ping_eventually, tcp_exchange
from tests.conftest import _require_root_and_ovs, unique_name

pytestmark = pytest.mark.ovs


@pytest.mark.parametrize("tunnel_type", ["geneve", "gre"])
def test_cross_node_traffic(tmp_path, tunnel_type):
    _require_root_and_ovs()
    with Cluster(tmp_path, prefix=unique_name("tt"), count=2, tunnel_type=tunnel_type).start() as cluster:
        n1, n2 = cluster.nodes
        a1, a2 = cluster.add_pod(n1, "a1"), cluster.add_pod(n2, "a2")
        assert re.search(rf"Interface tun0\n\s+type: {tunnel_type}\n", n1.ovs.vsctl("show"))
        assert ping_eventually(a1.netns, a2.ip.ip)
        tcp_exchange(a2, a1)
        tcp_exchange(a1, a2, port=5202)
