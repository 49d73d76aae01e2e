"""Table 70, L3Forwarding: routing between the node's subnet and the peers' subnets.

A packet for a peer's pod subnet is routed into the tunnel: TTL decremented, source MAC gw0's,
destination MAC the virtual MAC, `tun_dst` the peer node's address, reg1 the tunnel port (the
article's flow). A packet that arrived through the tunnel (REWRITE_MAC) for a local pod, or for
this node's gateway, gets real MACs (and the TTL decrement) before L2 forwarding.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from agent.openflow import registers as R
from agent.openflow.pipeline import CONNTRACK_COMMIT, L2_FORWARDING_CALC, L3_FORWARDING, PRIORITY_NORMAL
from fastpath import Flow, Match
from fastpath import actions as A


def tunnel_route_flow(
    peer_subnet: IPv4Network, peer_node_ip: IPv4Address, gateway_mac: str, tunnel_port: int, *, cookie: int
) -> Flow:
    actions = [
        A.DecTtl(),
        A.mod_dl_src(gateway_mac),
        A.mod_dl_dst(R.VIRTUAL_MAC),
        R.TARGET_OFPORT.load(tunnel_port),
        R.OUTPUT_PORT_FOUND.load(),
        A.load("tun_dst", int(peer_node_ip)),
        A.Resubmit(CONNTRACK_COMMIT.id),
    ]
    return Flow(L3_FORWARDING.id, PRIORITY_NORMAL, Match(ip=True, nw_dst=str(peer_subnet)), actions, cookie)


def tunnel_to_pod_flow(pod_ip: IPv4Address, pod_mac: str, gateway_mac: str, *, cookie: int) -> Flow:
    match = Match(ip=True, nw_dst=str(pod_ip), **R.reg_match(R.REWRITE_MAC))
    rewrite = [A.mod_dl_src(gateway_mac), A.mod_dl_dst(pod_mac), A.DecTtl()]
    actions = [*rewrite, A.Resubmit(L2_FORWARDING_CALC.id)]
    return Flow(L3_FORWARDING.id, PRIORITY_NORMAL, match, actions, cookie)


def tunnel_to_gateway_flow(gateway_ip: IPv4Address, gateway_mac: str, *, cookie: int) -> Flow:
    match = Match(ip=True, nw_dst=str(gateway_ip), **R.reg_match(R.REWRITE_MAC))
    actions = [A.mod_dl_dst(gateway_mac), A.Resubmit(L2_FORWARDING_CALC.id)]
    return Flow(L3_FORWARDING.id, PRIORITY_NORMAL, match, actions, cookie)
