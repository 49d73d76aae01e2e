"""The userspace datapath's uplink bridge: the node address and routes move onto br-phy, survive an
ovs-vswitchd restart (restored from the record in br-phy's external_ids), and move back on detach."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Network

import pytest

from agent.node.uplink import Uplink, UplinkError
from lab import netns
from lab.nodes import NodeHost, NodeSet
from pyantrea_netlink import NetlinkClient, Route
from pyantrea_ovsdb import OvsdbClient
from pyantrea_testing.names import unique_name
from pyantrea_testing.ovs import require_root_and_ovs

pytestmark = pytest.mark.ovs

EXTRA_ROUTE = "10.200.0.0/16 via 192.168.77.254 dev"


@pytest.fixture
def node(tmp_path) -> Iterator[NodeHost]:
    require_root_and_ovs()
    with NodeSet(tmp_path, prefix=unique_name("up"), count=1) as nodes:
        netns.run(nodes[0].netns, "ip", "route", "add", "10.200.0.0/16", "via", "192.168.77.254")
        yield nodes[0]


def mac(node: NodeHost, ifname: str) -> str:
    return netns.run(node.netns, "cat", f"/sys/class/net/{ifname}/address").stdout.strip()


def addresses(node: NodeHost, ifname: str) -> str:
    return netns.run(node.netns, "ip", "-4", "-o", "addr", "show", "dev", ifname, check=False).stdout


def run_uplink(node: NodeHost, body):
    async def main():
        ovsdb = await OvsdbClient.connect(node.ovs.paths.db_remote)
        async with ovsdb, NetlinkClient(node.netns_path) as netlink:
            return await body(Uplink(ovsdb, netlink, node.netns_path))

    return asyncio.run(main())


def test_attach_finds_the_transport_interface_by_the_node_address_and_moves_it(node):
    async def attach(uplink):
        return await uplink.attach(transport=None, node_ip=node.address.ip)

    transport_mac = mac(node, "eth0")
    record = run_uplink(node, attach)
    # the node address keeps its MAC: other nodes' neighbour caches stay right
    assert mac(node, "br-phy") == transport_mac
    assert record.interface == "eth0"
    assert [str(a) for a in record.addresses] == ["192.168.77.1/24"]
    assert record.routes == (
        Route(IPv4Network("10.200.0.0/16"), "eth0", gateway=IPv4Address("192.168.77.254"), metric=None),
    )
    assert "192.168.77.1/24" in addresses(node, "br-phy")
    assert "192.168.77.1" not in addresses(node, "eth0")
    routes = netns.run(node.netns, "ip", "route").stdout
    assert f"{EXTRA_ROUTE} br-phy" in routes
    assert "Port eth0" in node.ovs.vsctl("show")

    # again (an agent restart): nothing left to move, nothing changes
    assert run_uplink(node, attach) == record

    node.ovs.stop_vswitchd(kill=True)
    node.ovs.start_vswitchd()

    async def restore(uplink):
        await uplink.restore()

    run_uplink(node, restore)
    assert "192.168.77.1/24" in addresses(node, "br-phy")
    assert mac(node, "br-phy") == transport_mac
    assert f"{EXTRA_ROUTE} br-phy" in netns.run(node.netns, "ip", "route").stdout

    async def detach(uplink):
        await uplink.detach()
        return await uplink.record()

    assert run_uplink(node, detach) is None
    assert "192.168.77.1/24" in addresses(node, "eth0")
    assert f"{EXTRA_ROUTE} eth0" in netns.run(node.netns, "ip", "route").stdout
    assert "br-phy" not in node.ovs.vsctl("list-br")


def test_attach_without_a_device_holding_the_address_says_what_to_set(node):
    async def attach(uplink):
        await uplink.attach(transport=None, node_ip=IPv4Address("192.168.77.99"))

    with pytest.raises(UplinkError, match="set transportInterface"):
        run_uplink(node, attach)
