"""Table 40, DNAT: traffic to the Service CIDR goes to the host, untouched by egress policy.

kube-proxy on the host translates Service addresses, so such packets are sent out of gw0
before EgressRule sees them (egress rules match pod destinations, which the packet does not
have yet); they still pass ConntrackCommit.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network

from agent.openflow import registers as R
from agent.openflow.pipeline import CONNTRACK_COMMIT, DNAT, PRIORITY_NORMAL
from fastpath import Flow, Match
from fastpath import actions as A


def service_to_gateway_flow(
    service_cidr: IPv4Network | IPv6Network, gateway_port: int, *, cookie: int
) -> Flow:
    to_gateway = [R.TARGET_OFPORT.load(gateway_port), R.OUTPUT_PORT_FOUND.load()]
    actions = [*to_gateway, A.Resubmit(CONNTRACK_COMMIT.id)]
    return Flow(DNAT.id, PRIORITY_NORMAL, Match(ip=True, nw_dst=str(service_cidr)), actions, cookie)
