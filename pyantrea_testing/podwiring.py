"""A pod wired to a running agent as its CNI server wires one, for tests and benchmarks that run
an `Agent` without the CNI path: a veth into the pod's namespace (named as the CNI server names
it), the OVS port and flows through `agent.pods.attach`, then the address and default route."""

from __future__ import annotations

from ipaddress import IPv4Interface
from pathlib import Path

from agent.agent import Agent
from agent.cniserver.naming import host_interface_name
from agent.pods.api import PodAttachment, PodInterface
from pyantrea_netlink import DEFAULT_ROUTE, NetlinkClient, Route

POD_MTU = 1450


async def wire_pod(
    agent: Agent,
    netlink: NetlinkClient,
    *,
    namespace: str,
    name: str,
    container_id: str,
    netns: Path,
    ip: IPv4Interface,
) -> PodInterface:
    """Pod `namespace/name` (sandbox `container_id`, network namespace at `netns`) on `agent`'s
    node with address `ip`; `netlink` works in the node's namespace."""
    gateway = agent.local.gateway.ip
    veth = await netlink.create_veth(
        host_ifname=host_interface_name(namespace, name), netns=netns, ifname="eth0", mtu=POD_MTU
    )
    interface = await agent.pods.attach(
        PodAttachment(
            container_id=container_id,
            pod_namespace=namespace,
            pod_name=name,
            host_ifname=veth.host.name,
            ifname="eth0",
            netns=str(netns),
            ip=ip,
            mac=veth.container.mac,
            gateway=gateway,
        )
    )
    await netlink.configure_interface(
        netns=netns, ifname="eth0", addresses=[ip], routes=[Route(DEFAULT_ROUTE, "eth0", gateway)]
    )
    return interface
