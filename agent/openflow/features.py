"""The flows of each object the agent owns, composed from the builders.

One function per owner: the pipeline's fixed flows, the gateway, the tunnel port, one peer node,
one local pod. Each is pure: the same values always give the same flows, which is what lets the
client diff an owner's new flows against its installed ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from agent.openflow import registers as R
from agent.openflow.builders import (
    arp,
    classifier,
    conntrack,
    l2,
    l3,
    misses,
    policy,
    proxy,
    service,
    spoofguard,
    tiers,
)
from agent.openflow.cookies import Category, Cookies, name_id
from agent.openflow.pipeline import PIPELINE
from fastpath import Flow


@dataclass(frozen=True, slots=True)
class GatewayPort:
    """The node's gateway port (gw0): its OpenFlow port, address in the pod subnet, MAC."""

    ofport: int
    ip: IPv4Interface
    mac: str


@dataclass(frozen=True, slots=True)
class PeerNode:
    """Another node: its pod subnet, its transport address, its gateway's address."""

    name: str
    subnet: IPv4Network
    node_ip: IPv4Address

    @property
    def gateway_ip(self) -> IPv4Address:
        """The first address of the subnet, which the peer's gw0 holds."""
        return self.subnet.network_address + 1


@dataclass(frozen=True, slots=True)
class PodPort:
    """A local pod's port: its OpenFlow port, address and MAC (of the pod's own interface)."""

    ofport: int
    ip: IPv4Address
    mac: str


def pipeline_flows(cookies: Cookies, *, antrea_proxy: bool = False) -> list[Flow]:
    """The fixed flows; with AntreaProxy, conntrack (table 30) also NATs Service connections."""
    cookie = cookies(Category.DEFAULT)
    return [
        *misses.table_miss_flows(PIPELINE, cookie=cookie),
        arp.arp_normal_flow(cookie=cookie),
        proxy.conntrack_nat_flow(cookie=cookie) if antrea_proxy else conntrack.conntrack_flow(cookie=cookie),
        conntrack.invalid_drop_flow(cookie=cookie),
        *conntrack.commit_flows(cookie=cookie),
        *policy.established_bypass_flows(cookie=cookie),
        *policy.related_bypass_flows(cookie=cookie),
        *tiers.tier_bypass_flows(cookie=cookie),
        l2.output_flow(cookie=cookie),
    ]


def tunnel_flows(tunnel_port: int, cookies: Cookies) -> list[Flow]:
    return [classifier.tunnel_classifier_flow(tunnel_port, cookie=cookies(Category.DEFAULT))]


def gateway_flows(
    gateway: GatewayPort, service_cidr: IPv4Network, cookies: Cookies, *, antrea_proxy: bool = False
) -> list[Flow]:
    """The gateway's flows; Services go to the gateway (kube-proxy) unless AntreaProxy serves
    them, whose fixed flows (un-SNAT to the gateway IP, hairpin) come with the gateway."""
    cookie = cookies(Category.GATEWAY)
    service_cookie = cookies(Category.SERVICE)
    services = (
        proxy.fixed_flows(gateway.ip.ip, cookie=service_cookie, gateway_mac=gateway.mac)
        if antrea_proxy
        else [service.service_to_gateway_flow(service_cidr, gateway.ofport, cookie=service_cookie)]
    )
    return [
        classifier.gateway_classifier_flow(gateway.ofport, cookie=cookie),
        *spoofguard.gateway_spoofguard_flows(gateway.ofport, cookie=cookie),
        *conntrack.gateway_reply_flows(gateway.mac, cookie=cookie),
        *services,
        l3.tunnel_to_gateway_flow(gateway.ip.ip, gateway.mac, cookie=cookie),
        l2.l2_forwarding_flow(gateway.mac, gateway.ofport, cookie=cookie),
        policy.gateway_ingress_bypass_flow(gateway.ip.ip, cookie=cookie),
        tiers.gateway_admin_bypass_flow(gateway.ip.ip, cookie=cookie),
    ]


def peer_flows(peer: PeerNode, gateway_mac: str, tunnel_port: int, cookies: Cookies) -> list[Flow]:
    cookie = cookies(Category.NODE, name_id(peer.name))
    return [
        arp.arp_responder_flow(peer.gateway_ip, R.VIRTUAL_MAC, cookie=cookie),
        l3.tunnel_route_flow(peer.subnet, peer.node_ip, gateway_mac, tunnel_port, cookie=cookie),
    ]


def pod_flows(pod: PodPort, gateway_mac: str, cookies: Cookies) -> list[Flow]:
    cookie = cookies(Category.POD, pod.ofport)
    return [
        classifier.pod_classifier_flow(pod.ofport, cookie=cookie),
        *spoofguard.pod_spoofguard_flows(pod.ofport, pod.mac, pod.ip, cookie=cookie),
        l3.tunnel_to_pod_flow(pod.ip, pod.mac, gateway_mac, cookie=cookie),
        l2.l2_forwarding_flow(pod.mac, pod.ofport, cookie=cookie),
    ]
