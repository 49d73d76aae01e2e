"""Two nodes joined by VXLAN, real packets: pods on one node, across nodes, hosts, gateways.

One cluster serves the whole module (tests add their own pods and never change the nodes).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.agent.cluster import Cluster, Pod, ping_eventually, tcp_exchange
from tests.conftest import _require_root_and_ovs, unique_name

pytestmark = pytest.mark.ovs


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    _require_root_and_ovs()
    with Cluster(tmp_path_factory.mktemp("cluster"), prefix=unique_name("dc"), count=2).start() as c:
        yield c


@pytest.fixture(scope="module")
def pods(cluster: Cluster) -> dict[str, Pod]:
    n1, n2 = cluster.nodes
    return {
        "a1": cluster.add_pod(n1, "a1"),
        "b1": cluster.add_pod(n1, "b1"),
        "a2": cluster.add_pod(n2, "a2"),
    }


def test_same_node_pods_talk(pods):
    assert ping_eventually(pods["a1"].netns, pods["b1"].ip.ip)
    tcp_exchange(pods["b1"], pods["a1"])


def test_cross_node_pods_talk_through_the_tunnel(pods):
    assert ping_eventually(pods["a1"].netns, pods["a2"].ip.ip)
    tcp_exchange(pods["a2"], pods["a1"])
    tcp_exchange(pods["a1"], pods["a2"], port=5202)
