"""Node networking over real namespaces: device settings, addresses and routes, and moving the
node's transport address onto an OVS bridge port (the userspace datapath uplink) and back."""

import asyncio
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

import pytest

from lab import netns
from pyantrea_netlink import (
    DEFAULT_ROUTE,
    IpConfig,
    LinkNotFoundError,
    NetlinkClient,
    NetworkConfigError,
    Route,
)
from pyantrea_netlink.rollback import Rollback
from pyantrea_ovsdb import AddBridge, AddSystemPort, DatapathType, DeleteBridge, FailMode

run = asyncio.run


@pytest.fixture
def node_netlink(namespace):
    client = NetlinkClient(netns.netns_path(namespace))
    try:
        yield client
    finally:
        run(client.close())


def add_veth(namespace, name):
    """A veth pair `name` / `name`p in the namespace, both up (this kernel has no dummy devices)."""
    netns.run(namespace, "ip", "link", "add", name, "type", "veth", "peer", "name", f"{name}p")
    netns.run(namespace, "ip", "link", "set", f"{name}p", "up")
    netns.run(namespace, "ip", "link", "set", name, "up")


def test_link_settings_and_addresses(namespace, node_netlink):
    add_veth(namespace, "d0")
    netns.run(namespace, "ip", "link", "set", "d0", "down")
    address = IPv4Interface("10.70.0.1/24")

    async def scenario():
        await node_netlink.set_link("d0", up=True, mtu=1300, mac="0a:00:00:00:00:09")
        await node_netlink.add_address("d0", address)
        await node_netlink.add_address("d0", address)
        added = await node_netlink.link("d0")
        await node_netlink.delete_address("d0", address)
        await node_netlink.delete_address("d0", address)
        return added, await node_netlink.link("d0")

    added, removed = run(scenario())
    assert (added.mtu, added.mac, added.up, added.kind) == (1300, "0a:00:00:00:00:09", True, "veth")
    assert added.addresses == (address,)
    assert removed.addresses == ()
    assert run(node_netlink.link("nope0")) is None
    with pytest.raises(LinkNotFoundError, match="no device named 'nope0'"):
        run(node_netlink.set_link("nope0", up=True))


def test_routes_are_replaced_listed_and_deleted(namespace, node_netlink):
    add_veth(namespace, "d0")
    peer_subnet = Route(IPv4Network("10.72.0.0/24"), "d0", gateway=IPv4Address("10.71.0.2"), metric=10)

    async def scenario():
        await node_netlink.add_address("d0", IPv4Interface("10.71.0.1/24"))
        await node_netlink.replace_route(peer_subnet)
        await node_netlink.replace_route(peer_subnet)
        listed = await node_netlink.routes("d0")
        await node_netlink.delete_route(peer_subnet)
        await node_netlink.delete_route(peer_subnet)
        return listed, await node_netlink.routes("d0")

    listed, after = run(scenario())
    assert listed == (peer_subnet,)
    assert after == ()
    unreachable = Route(DEFAULT_ROUTE, "d0", gateway=IPv4Address("192.0.2.1"))
    with pytest.raises(NetworkConfigError, match=r"add route default via 192.0.2.1 dev d0: .*unreachable"):
        run(node_netlink.replace_route(unreachable))


@pytest.mark.ovs
def test_transport_address_moves_onto_an_ovs_bridge_and_back(ovs, ovsdb, namespace):
    """The node is the OVS instance's namespace; its uplink `up0` is a veth to `namespace`,
    which plays the underlay and holds a remote address 10.74.0.1 behind 10.73.0.2."""
    node = ovs.netns
    netns.run(node, "ip", "link", "add", "up0", "type", "veth", "peer", "name", "wire0", "netns", namespace)
    netns.run(namespace, "ip", "link", "set", "wire0", "up")
    netns.run(namespace, "ip", "addr", "add", "10.73.0.2/24", "dev", "wire0")
    netns.run(namespace, "ip", "addr", "add", "10.74.0.1/32", "dev", "lo")
    netns.run(node, "ip", "link", "set", "up0", "up")
    netns.run(node, "ip", "addr", "add", "10.73.0.1/24", "dev", "up0")
    netns.run(node, "ip", "route", "add", "10.74.0.0/24", "via", "10.73.0.2", "dev", "up0")
    netns.run(node, "ping", "-c1", "-W5", "10.74.0.1")

    client = NetlinkClient(netns.netns_path(node))
    try:

        async def to_bridge():
            await ovsdb.transact(
                AddBridge("br-phy", datapath_type=DatapathType.NETDEV, fail_mode=FailMode.STANDALONE),
                AddSystemPort("br-phy", "up0"),
            )
            await ovsdb.wait_for_ofport("up0")
            await ovsdb.wait_for_ofport("br-phy")
            return await client.move_ip_config("up0", "br-phy")

        moved = run(to_bridge())
        assert moved == IpConfig(
            addresses=(IPv4Interface("10.73.0.1/24"),),
            routes=(Route(IPv4Network("10.74.0.0/24"), "up0", gateway=IPv4Address("10.73.0.2")),),
        )
        assert run(client.link("up0")).addresses == ()
        assert run(client.link("br-phy")).addresses == (IPv4Interface("10.73.0.1/24"),)
        assert "10.74.0.0/24 via 10.73.0.2 dev br-phy" in netns.run(node, "ip", "route").stdout
        netns.run(node, "ping", "-c1", "-W5", "10.74.0.1")

        async def back():
            again = await client.move_ip_config("up0", "br-phy")
            restored = await client.move_ip_config("br-phy", "up0")
            await ovsdb.execute(DeleteBridge("br-phy"))
            return again, restored

        again, restored = run(back())
        assert again == IpConfig(addresses=(), routes=())
        assert restored.addresses == moved.addresses
        assert run(client.routes("up0")) == moved.routes
        netns.run(node, "ping", "-c1", "-W5", "10.74.0.1")
    finally:
        run(client.close())


def test_move_to_a_missing_device_leaves_the_source_as_it_was(namespace, node_netlink):
    add_veth(namespace, "d0")
    route = Route(IPv4Network("10.76.0.0/24"), "d0", gateway=IPv4Address("10.75.0.2"))

    async def scenario():
        await node_netlink.add_address("d0", IPv4Interface("10.75.0.1/24"))
        await node_netlink.replace_route(route)
        with pytest.raises(LinkNotFoundError, match="no device named 'br-none'"):
            await node_netlink.move_ip_config("d0", "br-none")
        return await node_netlink.link("d0"), await node_netlink.routes("d0")

    source, routes = run(scenario())
    assert source.addresses == (IPv4Interface("10.75.0.1/24"),)
    assert routes == (route,)


def test_rollback_undoes_newest_first_and_survives_failing_steps():
    done = []

    def failing():
        raise RuntimeError("undo failed")

    with pytest.raises(ValueError, match="step 3"), Rollback() as undo:
        undo.push("one", lambda: done.append(1))
        undo.push("two", failing)
        undo.push("three", lambda: done.append(3))
        raise ValueError("step 3")
    assert done == [3, 1]

    with Rollback() as undo:
        undo.push("never", lambda: done.append("never"))
    assert done == [3, 1]
