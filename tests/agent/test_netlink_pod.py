"""Pod networking over real namespaces: veth pairs into pods, addresses and routes inside them,
real pings through a node namespace, idempotent deletes, clear errors, and all of it from a
process that runs a grpc.aio server (where pyroute2's forking NetNS could crash)."""

import asyncio
import socket
import struct
import threading
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

import grpc
import pytest
import uvloop

from lab import netns
from pyantrea_netlink import (
    DEFAULT_ROUTE,
    LinkExistsError,
    NetlinkClient,
    NetnsNotFoundError,
    NetworkConfigError,
    Route,
)
from pyantrea_netlink.nsenter import enter_netns
from pyantrea_testing.names import unique_name

run = asyncio.run


@pytest.fixture
def pods():
    """A factory of pod namespaces (their paths), all deleted afterwards."""
    names = []

    def make():
        names.append(unique_name("pp"))
        return netns.create(names[-1])

    try:
        yield make
    finally:
        for name in names:
            netns.delete(name)


@pytest.fixture
def node_netlink(namespace):
    """A NetlinkClient whose node namespace is the test's `namespace`."""
    client = NetlinkClient(netns.netns_path(namespace))
    try:
        yield client
    finally:
        run(client.close())


async def attach_pod(client, pod, host_ifname, subnet):
    """What CNI ADD does: a veth into the pod, the gateway address on the host end, the pod's
    address and default route inside the pod."""
    gateway, pod_ip = IPv4Interface(f"{subnet[1]}/{subnet.prefixlen}"), IPv4Interface(f"{subnet[2]}/24")
    pair = await client.create_veth(host_ifname=host_ifname, netns=pod, ifname="eth0", mtu=1400)
    await client.add_address(host_ifname, gateway)
    link = await client.configure_interface(
        netns=pod,
        ifname="eth0",
        addresses=[pod_ip],
        routes=[Route(DEFAULT_ROUTE, "eth0", gateway=gateway.ip)],
    )
    return pair, link


def test_pods_get_veths_addresses_and_routes_and_reach_each_other(namespace, node_netlink, pods):
    pod1, pod2 = pods(), pods()
    netns.run(namespace, "sysctl", "-qw", "net.ipv4.ip_forward=1")

    async def scenario():
        one = await attach_pod(node_netlink, pod1, "vp1", IPv4Network("10.61.1.0/24"))
        two = await attach_pod(node_netlink, pod2, "vp2", IPv4Network("10.61.2.0/24"))
        return one, two

    (pair, link), _ = run(scenario())

    assert (pair.host.name, pair.container.name) == ("vp1", "eth0")
    assert pair.host.mtu == pair.container.mtu == 1400
    assert pair.host.up and pair.container.up and pair.container.kind == "veth"
    assert link.addresses == (IPv4Interface("10.61.1.2/24"),)
    assert link.mac == pair.container.mac
    assert "mtu 1400" in netns.run(pod1.name, "ip", "link", "show", "eth0").stdout
    assert "default via 10.61.1.1 dev eth0" in netns.run(pod1.name, "ip", "route").stdout
    assert netns.run(namespace, "cat", "/proc/sys/net/ipv4/conf/vp1/arp_ignore").stdout.strip() == "0"
    netns.run(pod1.name, "ping", "-c1", "-W5", "10.61.2.2")
    netns.run(pod2.name, "ping", "-c1", "-W5", "10.61.1.2")


def test_a_veth_whose_host_end_answers_no_arp(namespace, node_netlink, pods):
    """The agent's pods: their gateway is gw0 in OVS, so the node's stack must not answer their
    ARP on the veth itself (on the userspace datapath it sees the veth's frames too)."""
    pod = pods()
    run(
        node_netlink.create_veth(
            host_ifname="vp9", netns=pod, ifname="eth0", mtu=1450, host_answers_arp=False
        )
    )
    assert netns.run(namespace, "cat", "/proc/sys/net/ipv4/conf/vp9/arp_ignore").stdout.strip() == "8"


def test_onlink_route_to_a_gateway_outside_the_pod_subnet(namespace, node_netlink, pods):
    pod = pods()

    async def scenario():
        await node_netlink.create_veth(host_ifname="vp1", netns=pod, ifname="eth0", mtu=1450)
        await node_netlink.add_address("vp1", IPv4Interface("169.254.1.1/32"))
        await node_netlink.replace_route(Route(IPv4Network("10.62.0.2/32"), "vp1"))
        await node_netlink.configure_interface(
            netns=pod,
            ifname="eth0",
            addresses=[IPv4Interface("10.62.0.2/32")],
            routes=[Route(DEFAULT_ROUTE, "eth0", gateway=IPv4Address("169.254.1.1"), onlink=True)],
        )
        return await node_netlink.routes("vp1")

    assert run(scenario()) == (Route(IPv4Network("10.62.0.2/32"), "vp1"),)
    assert "default via 169.254.1.1 dev eth0 proto static onlink" in netns.run(pod.name, "ip", "route").stdout
    netns.run(namespace, "ping", "-c1", "-W5", "10.62.0.2")


def test_configure_interface_is_idempotent(node_netlink, pods):
    pod = pods()
    address = IPv4Interface("10.63.0.2/24")
    route = Route(IPv4Network("10.64.0.0/16"), "eth0", gateway=IPv4Address("10.63.0.1"))

    async def scenario():
        await node_netlink.create_veth(host_ifname="vp1", netns=pod, ifname="eth0", mtu=1450)
        for _ in range(2):
            link = await node_netlink.configure_interface(
                netns=pod, ifname="eth0", addresses=[address], routes=[route]
            )
        return link

    assert run(scenario()).addresses == (address,)
    assert netns.run(pod.name, "ip", "route").stdout.count("10.64.0.0/16") == 1


def test_failed_configuration_leaves_no_address_behind(node_netlink, pods):
    pod = pods()
    unreachable = Route(IPv4Network("10.65.0.0/16"), "eth0", gateway=IPv4Address("192.0.2.1"))

    async def scenario():
        await node_netlink.create_veth(host_ifname="vp1", netns=pod, ifname="eth0", mtu=1450)
        with pytest.raises(
            NetworkConfigError, match=r"add route 10.65.0.0/16 via 192.0.2.1 dev eth0: .*unreachable"
        ):
            await node_netlink.configure_interface(
                netns=pod, ifname="eth0", addresses=[IPv4Interface("10.63.0.2/24")], routes=[unreachable]
            )
        return await node_netlink.link("eth0", netns=pod)

    assert run(scenario()).addresses == ()


def test_gratuitous_arp_announces_the_pod_address(namespace, node_netlink, pods):
    pod = pods()
    run(node_netlink.create_veth(host_ifname="vp1", netns=pod, ifname="eth0", mtu=1450))
    listener = socket_in_netns(namespace, "vp1")
    try:
        link = run(
            node_netlink.configure_interface(
                netns=pod, ifname="eth0", addresses=[IPv4Interface("10.66.0.2/24")], routes=[]
            )
        )
        frame = receive_arp(listener)
    finally:
        listener.close()
    sender_mac, sender_ip, target_ip = frame[22:28], frame[28:32], frame[38:42]
    assert struct.unpack("!H", frame[20:22]) == (1,)  # an ARP request
    assert sender_mac == bytes.fromhex(link.mac.replace(":", ""))
    assert sender_ip == target_ip == IPv4Address("10.66.0.2").packed


def socket_in_netns(name, ifname):
    """A packet socket for ARP on `ifname`, opened from a thread that entered namespace `name`."""
    opened = []

    def open_socket():
        enter_netns(netns.netns_path(name))
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
        sock.bind((ifname, 0))
        sock.settimeout(10)
        opened.append(sock)

    thread = threading.Thread(target=open_socket)
    thread.start()
    thread.join()
    return opened[0]


def receive_arp(sock):
    while True:
        frame = sock.recv(2048)
        if frame[12:14] == b"\x08\x06" and frame[28:32] == frame[38:42]:
            return frame


def test_deletes_are_idempotent(node_netlink, pods):
    pod = pods()

    async def scenario():
        await node_netlink.create_veth(host_ifname="vp1", netns=pod, ifname="eth0", mtu=1450)
        await node_netlink.delete_link("vp1")
        await node_netlink.delete_link("vp1")
        await node_netlink.delete_link("eth0", netns=pod)
        return await node_netlink.link("vp1"), await node_netlink.link("eth0", netns=pod)

    assert run(scenario()) == (None, None)


def test_missing_netns_is_an_error_and_leaves_nothing(node_netlink, tmp_path):
    missing = Path("/var/run/netns") / unique_name("gone")

    async def scenario():
        with pytest.raises(NetnsNotFoundError, match=f"network namespace {missing} does not exist"):
            await node_netlink.create_veth(host_ifname="vp1", netns=missing, ifname="eth0", mtu=1450)
        with pytest.raises(NetnsNotFoundError, match="does not exist"):
            await node_netlink.link("eth0", netns=missing)
        with pytest.raises(NetnsNotFoundError, match="is not a network namespace"):
            await node_netlink.delete_link("eth0", netns=tmp_path)
        return await node_netlink.link("vp1")

    assert run(scenario()) is None


def test_taken_names_are_refused_and_leave_nothing(node_netlink, pods):
    pod = pods()

    async def scenario():
        await node_netlink.create_veth(host_ifname="vp1", netns=pod, ifname="eth0", mtu=1450)
        with pytest.raises(LinkExistsError, match="'vp1' already exists"):
            await node_netlink.create_veth(host_ifname="vp1", netns=pod, ifname="eth1", mtu=1450)
        with pytest.raises(LinkExistsError, match="'eth0' already exists in the peer's namespace"):
            await node_netlink.create_veth(host_ifname="vp2", netns=pod, ifname="eth0", mtu=1450)
        return await node_netlink.link("vp2"), await node_netlink.link("eth1", netns=pod)

    assert run(scenario()) == (None, None)


def test_works_in_a_process_serving_grpc(namespace, node_netlink, pods):
    pod1, pod2 = pods(), pods()
    netns.run(namespace, "sysctl", "-qw", "net.ipv4.ip_forward=1")

    async def scenario():
        server = grpc.aio.server()
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            assert port > 0
            await attach_pod(node_netlink, pod1, "vp1", IPv4Network("10.67.1.0/24"))
            await attach_pod(node_netlink, pod2, "vp2", IPv4Network("10.67.2.0/24"))
            await asyncio.to_thread(netns.run, pod1.name, "ping", "-c1", "-W5", "10.67.2.2")
            await node_netlink.delete_link("vp1")
            await node_netlink.delete_link("vp2")
            return await node_netlink.link("eth0", netns=pod1)
        finally:
            await server.stop(None)

    assert run(scenario()) is None


def test_works_under_uvloop(node_netlink, pods):
    pod = pods()

    async def scenario():
        pair, link = await attach_pod(node_netlink, pod, "vp1", IPv4Network("10.68.1.0/24"))
        return pair.container.name, link.addresses

    assert uvloop.run(scenario()) == ("eth0", (IPv4Interface("10.68.1.2/24"),))
