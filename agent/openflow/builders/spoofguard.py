"""Table 10, SpoofGuard: a pod may only send from its own port, MAC and IP.

IP and ARP from the gateway are trusted (the host routes many sources through it); a pod's IP
packets must carry its MAC and IP and its ARP packets its IP and MAC as sender. ARP goes on to
ARPResponder, IP to Conntrack; anything else is dropped by the table's miss.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from agent.openflow.pipeline import ARP_RESPONDER, CONNTRACK, PRIORITY_NORMAL, SPOOF_GUARD
from fastpath import Flow, Match
from fastpath import actions as A


def gateway_spoofguard_flows(gateway_port: int, *, cookie: int) -> list[Flow]:
    return [
        Flow(SPOOF_GUARD.id, PRIORITY_NORMAL, Match(ip=True, in_port=gateway_port),
             [A.Resubmit(CONNTRACK.id)], cookie),
        Flow(SPOOF_GUARD.id, PRIORITY_NORMAL, Match(arp=True, in_port=gateway_port),
             [A.Resubmit(ARP_RESPONDER.id)], cookie),
    ]  # fmt: skip


def pod_spoofguard_flows(pod_port: int, mac: str, ip: IPv4Address, *, cookie: int) -> list[Flow]:
    return [
        Flow(SPOOF_GUARD.id, PRIORITY_NORMAL, Match(ip=True, in_port=pod_port, dl_src=mac, nw_src=str(ip)),
             [A.Resubmit(CONNTRACK.id)], cookie),
        Flow(SPOOF_GUARD.id, PRIORITY_NORMAL, Match(arp=True, in_port=pod_port, arp_spa=str(ip), arp_sha=mac),
             [A.Resubmit(ARP_RESPONDER.id)], cookie),
    ]  # fmt: skip
