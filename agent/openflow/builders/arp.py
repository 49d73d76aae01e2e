"""Table 20, ARPResponder: answer for peer nodes' gateways, switch every other ARP normally.

The host routes each peer's pod subnet via the peer's gateway address on gw0 (`onlink`), so it
asks for that address; br-int answers itself with the global virtual MAC, which L3Forwarding
then recognises as "to be tunnelled". The reply is built in place from the request (the
article's exact action list) and sent back out of the port it came in on.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from agent.openflow.pipeline import ARP_RESPONDER, PRIORITY_LOW, PRIORITY_NORMAL
from fastpath import Flow, Match, parse_mac
from fastpath import actions as A

ARP_OP_REQUEST = 1
ARP_OP_REPLY = 2


def arp_responder_flow(ip: IPv4Address, mac: str, *, cookie: int) -> Flow:
    """Answer "who has `ip`" with `mac`."""
    actions = [
        A.Move("dl_src", "dl_dst"),
        A.mod_dl_src(mac),
        A.load("arp_op", ARP_OP_REPLY),
        A.Move("arp_sha", "arp_tha"),
        A.load("arp_sha", parse_mac(mac)),
        A.Move("arp_spa", "arp_tpa"),
        A.load("arp_spa", int(ip)),
        A.Output("IN_PORT"),
    ]
    match = Match(arp=True, arp_op=ARP_OP_REQUEST, arp_tpa=str(ip))
    return Flow(ARP_RESPONDER.id, PRIORITY_NORMAL, match, actions, cookie)


def arp_normal_flow(*, cookie: int) -> Flow:
    return Flow(ARP_RESPONDER.id, PRIORITY_LOW, Match(arp=True), [A.Output("NORMAL")], cookie)
