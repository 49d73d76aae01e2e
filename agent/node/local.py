"""This node and its peers as the agent sees them, read from (trimmed) Node objects.

A node's pod subnet is its first IPv4 `spec.podCIDRs` entry; its gateway gw0 holds the
subnet's first address; its transport address is its first IPv4 InternalIP. The gateway's MAC
is derived from the gateway address (0a:58 followed by the address, the convention of
Kubernetes' own bridges), so it survives agent and Open vSwitch restarts unchanged and pods'
ARP caches stay right.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, ip_address, ip_network

from agent.openflow.features import PeerNode
from pyantrea_kube.objects import Node


@dataclass(frozen=True, slots=True)
class LocalNode:
    name: str
    subnet: IPv4Network
    node_ip: IPv4Address

    @property
    def gateway(self) -> IPv4Interface:
        return IPv4Interface(f"{self.subnet.network_address + 1}/{self.subnet.prefixlen}")

    @property
    def gateway_mac(self) -> str:
        return gateway_mac(self.gateway.ip)


def gateway_mac(address: IPv4Address) -> str:
    return "0a:58:" + ":".join(f"{b:02x}" for b in address.packed)


def _first_ipv4_network(values: tuple[str, ...]) -> IPv4Network | None:
    for value in values:
        network = ip_network(value, strict=False)
        if isinstance(network, IPv4Network):
            return network
    return None


def _first_ipv4_address(values: tuple[str, ...]) -> IPv4Address | None:
    for value in values:
        address = ip_address(value)
        if isinstance(address, IPv4Address):
            return address
    return None


def local_node(node: Node) -> LocalNode | None:
    """This node, once it has an IPv4 pod subnet and InternalIP; None before."""
    subnet = _first_ipv4_network(node.pod_cidrs)
    node_ip = _first_ipv4_address(node.internal_ips)
    if subnet is None or node_ip is None:
        return None
    return LocalNode(node.name, subnet, node_ip)


def peer_node(node: Node) -> PeerNode | None:
    """A peer to tunnel to, once it has an IPv4 pod subnet and InternalIP; None before."""
    local = local_node(node)
    return None if local is None else PeerNode(local.name, local.subnet, local.node_ip)
