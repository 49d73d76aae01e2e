"""Two nodes joined by VXLAN, real packets: pods on one node, across nodes, hosts, gateways.

One cluster serves the whole module; tests share its pods and undo what they change in them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from agent.openflow.cookies import Category, category_of, round_of
from lab import netns
from pyantrea_kube.resources import NODES
from pyantrea_testing.names import unique_name
from pyantrea_testing.ovs import require_root_and_ovs
from tests.agent.cluster import Cluster, Pod, ping, tcp_exchange, wait_until

pytestmark = pytest.mark.ovs


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    require_root_and_ovs()
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
    assert ping(pods["a1"].netns, pods["b1"].ip.ip)
    tcp_exchange(pods["b1"], pods["a1"])


def test_cross_node_pods_talk_through_the_tunnel(pods):
    assert ping(pods["a1"].netns, pods["a2"].ip.ip)
    tcp_exchange(pods["a2"], pods["a1"])
    tcp_exchange(pods["a1"], pods["a2"], port=5202)


def test_pod_reaches_its_gateway(pods):
    assert ping(pods["a1"].netns, pods["a1"].interface.attachment.gateway)


def test_host_reaches_local_and_remote_pods_through_routes(cluster, pods):
    n1 = cluster.nodes[0]
    routes = netns.run(n1.netns, "ip", "route").stdout
    assert "172.16.2.0/24 via 172.16.2.1 dev gw0 proto static onlink" in routes
    assert ping(n1.netns, pods["a1"].ip.ip)
    assert ping(n1.netns, pods["a2"].ip.ip)


def test_arp_responder_answers_for_the_remote_gateway(cluster, pods):
    n1 = cluster.nodes[0]
    assert ping(n1.netns, pods["a2"].ip.ip)  # the host resolves 172.16.2.1 on gw0
    neighbours = netns.run(n1.netns, "ip", "neigh", "show", "172.16.2.1", "dev", "gw0").stdout
    assert "lladdr aa:bb:cc:dd:ee:ff" in neighbours
    # a pod reaches the remote gateway itself through its own gateway and the tunnel
    assert ping(pods["a1"].netns, "172.16.2.1")


def _spoofguard_drops(cluster: Cluster, node_index: int) -> int:
    node = cluster.nodes[node_index]
    dump = node.ovs.ofctl("dump-flows", "br-int", "table=10")
    (miss,) = [line for line in dump.splitlines() if "priority=0 " in line]
    return int(re.search(r"n_packets=(\d+)", miss).group(1))


def test_spoofed_source_ip_is_dropped(cluster, pods):
    a1, b1 = pods["a1"], pods["b1"]
    assert ping(a1.netns, b1.ip.ip)  # b1's MAC is in a1's neighbour table now
    a1.run("ip", "addr", "add", "172.16.1.200/24", "dev", "eth0")
    try:
        before = _spoofguard_drops(cluster, 0)
        assert not ping(a1.netns, b1.ip.ip, count=2, wait=1, source="172.16.1.200")
        assert _spoofguard_drops(cluster, 0) >= before + 2
    finally:
        a1.run("ip", "addr", "del", "172.16.1.200/24", "dev", "eth0")
    assert ping(a1.netns, b1.ip.ip)


def test_spoofed_source_mac_is_dropped(cluster, pods):
    a1, b1 = pods["a1"], pods["b1"]
    real_mac = a1.interface.attachment.mac
    a1.run("ip", "link", "set", "eth0", "address", "02:00:00:00:00:99")
    try:
        before = _spoofguard_drops(cluster, 0)
        assert not ping(a1.netns, b1.ip.ip, count=2, wait=1)
        assert _spoofguard_drops(cluster, 0) >= before + 2
    finally:
        a1.run("ip", "link", "set", "eth0", "address", real_mac)
    assert ping(a1.netns, b1.ip.ip)


def test_ovs_vsctl_show_looks_like_the_article(cluster, pods):
    show = cluster.nodes[0].ovs.vsctl("show")
    bridge = re.search(r"Bridge br-int\n(?:        .*\n)+", show).group(0)
    assert re.search(
        r"Port tun0\n\s+Interface tun0\n\s+type: vxlan\n\s+options: \{key=flow, remote_ip=flow\}", bridge
    )
    assert re.search(r"Port gw0\n\s+Interface gw0\n\s+type: internal", bridge)
    for pod in (pods["a1"], pods["b1"]):
        name = pod.interface.attachment.host_ifname
        assert re.fullmatch(rf"{pod.name[:8]}-[0-9a-f]{{6}}", name)
        assert f"Port {name}\n" in bridge


def test_gateway_holds_the_first_address_of_the_pod_subnet(cluster):
    n1 = cluster.nodes[0]
    link = netns.run(n1.netns, "ip", "-o", "-4", "addr", "show", "dev", "gw0").stdout
    assert "inet 172.16.1.1/24" in link
    assert "mtu 1450" in netns.run(n1.netns, "ip", "link", "show", "gw0").stdout


def test_table_70_looks_like_the_article(cluster):
    """The article's `ovs-ofctl dump-flows br-int` line for a peer's subnet, here with OpenFlow 1.0."""
    n1 = cluster.nodes[0]
    dump = n1.ovs.ofctl("dump-flows", "br-int", "table=70", version="OpenFlow10")
    (line,) = [line for line in dump.splitlines() if "nw_dst=172.16.2.0/24" in line]
    match = re.fullmatch(
        r" cookie=(0x[0-9a-f]+), duration=[0-9.]+s, table=70, n_packets=\d+, n_bytes=\d+, "
        r"idle_age=\d+, priority=200,ip,nw_dst=172\.16\.2\.0/24 "
        r"actions=dec_ttl,mod_dl_src:0a:58:ac:10:01:01,mod_dl_dst:aa:bb:cc:dd:ee:ff,"
        r"load:0x1->NXM_NX_REG1\[\],load:0x1->NXM_NX_REG0\[16\],load:0xc0a84d02->NXM_NX_TUN_IPV4_DST\[\],"
        r"resubmit\(,105\)",
        line,
    )
    assert match, line
    cookie = int(match.group(1), 16)
    assert category_of(cookie) is Category.NODE
    assert round_of(cookie) == cluster.agent(n1).flows.cookies.round


def test_peers_follow_the_node_objects(cluster):
    n1 = cluster.nodes[0]
    node3 = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "node-extra"},
        "spec": {"podCIDR": "172.16.50.0/24"},
        "status": {"addresses": [{"type": "InternalIP", "address": "192.168.77.50"}]},
    }

    def state() -> tuple[bool, bool]:
        flows = n1.ovs.ofctl("dump-flows", "br-int", "table=70", options=("--no-stats",))
        routes = netns.run(n1.netns, "ip", "route").stdout
        return "nw_dst=172.16.50.0/24" in flows, "172.16.50.0/24 via 172.16.50.1 dev gw0" in routes

    cluster.rest.create(NODES, None, node3)
    assert wait_until(lambda: state() == (True, True))
    # A node's subnet never changes (the API server refuses it); its address may.
    moved = {"status": {"addresses": [{"type": "InternalIP", "address": "192.168.77.51"}]}}
    cluster.rest.patch(NODES, None, "node-extra", moved, subresource="status")
    assert wait_until(lambda: "192.168.77.51->tun_dst" in n1.ovs.ofctl("dump-flows", "br-int", "table=70"))
    assert "192.168.77.50" not in n1.ovs.ofctl("dump-flows", "br-int")
    assert state() == (True, True)
    cluster.rest.delete(NODES, None, "node-extra")
    assert wait_until(lambda: "172.16.50" not in n1.ovs.ofctl("dump-flows", "br-int"))
    assert "172.16.50" not in netns.run(n1.netns, "ip", "route").stdout


def test_detach_removes_the_port_and_every_flow(cluster):
    n1 = cluster.nodes[0]
    pod = cluster.add_pod(n1, "gone")
    agent = cluster.agent(n1)
    ofport = pod.interface.ofport
    assert f"in_port={ofport} " in n1.ovs.ofctl("dump-flows", "br-int", "table=0")
    assert cluster.loop.run(agent.pods.detach("c-gone")) == pod.interface
    assert cluster.loop.run(agent.pods.detach("c-gone")) is None
    assert pod.interface.attachment.host_ifname not in n1.ovs.vsctl("list-ports", "br-int")
    dump = n1.ovs.ofctl("dump-flows", "br-int")
    assert str(pod.ip.ip) not in dump and f"in_port={ofport} " not in dump
