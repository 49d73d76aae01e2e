"""Tables 50, 60, 90, 100: the policy tables.

Fixed flows: packets of established and related connections skip the rule and default tables at
priority 210 (from the rule table to the baseline table of the direction, 55 or 95, and from the
default table to the metric table, 61 or 101), so a NetworkPolicy change never cuts a
connection that was allowed (and replies and ICMP errors pass); traffic from the node's own
gateway address skips the ingress rules (kubelet probes must reach every pod). The tables' NEXT
misses let everything else through.

Rule flows, Antrea's conjunctive match (a rule with n peers, m pods and p ports costs
n + m + p + 1 flows, never n x m)::

    table=90, priority=200,ip,nw_src=10.0.2.5 actions=conjunction(7,1/3),conjunction(9,1/2)
    table=90, priority=200,ip,reg1=0x5 actions=conjunction(7,2/3)
    table=90, priority=200,tcp,tp_dst=80 actions=conjunction(7,3/3)
    table=90, priority=190,conj_id=7,ip actions=set_field:0x7->reg6,resubmit(,101)

clause 1 is the peer (ingress `nw_src`, egress `nw_dst`), clause 2 the local pod (ingress the
output port in reg1, egress `nw_src`), clause 3 the port; a match shared by several rules is
one flow carrying each rule's conjunction() action. The action flow of a conjunction records its
id (reg6 ingress, reg5 egress) and goes on to the metric table, past the default table; the
commit keeps the id in the connection's ct_label. Each rule also has three flows in the metric
tables (`agent.openflow.builders.metrics`), which count its traffic. Default isolation drops, in
60 and 100, what no rule allowed to or from a pod that some policy selects.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address

from agent.openflow import _matches
from agent.openflow import registers as R
from agent.openflow.pipeline import (
    BASELINE_EGRESS_RULE,
    BASELINE_INGRESS_RULE,
    CONNTRACK_COMMIT,
    EGRESS_DEFAULT,
    EGRESS_METRIC,
    EGRESS_RULE,
    INGRESS_DEFAULT,
    INGRESS_METRIC,
    INGRESS_RULE,
    PRIORITY_HIGH,
    PRIORITY_LOW,
    PRIORITY_NORMAL,
)
from fastpath import Flow, Match
from fastpath import actions as A
from pyantrea_api.objects import Direction

_ESTABLISHED = Match(ip=True, ct_state="-new+est")
_RELATED = Match(ip=True, ct_state="-new+rel")

RULE_TABLE = {Direction.IN: INGRESS_RULE.id, Direction.OUT: EGRESS_RULE.id}
DEFAULT_TABLE = {Direction.IN: INGRESS_DEFAULT.id, Direction.OUT: EGRESS_DEFAULT.id}
METRIC_TABLE = {Direction.IN: INGRESS_METRIC.id, Direction.OUT: EGRESS_METRIC.id}
"""Where an allowed packet goes: past the default table."""
BASELINE_TABLE = {Direction.IN: BASELINE_INGRESS_RULE.id, Direction.OUT: BASELINE_EGRESS_RULE.id}
CONJ_ID_FIELD = {Direction.IN: R.INGRESS_CONJ_ID, Direction.OUT: R.EGRESS_CONJ_ID}

PEER_FIELD = {Direction.IN: "nw_src", Direction.OUT: "nw_dst"}
_PROTOCOL_NAMES = {6: "tcp", 17: "udp", 132: "sctp"}

CLAUSE_PEER = 1
CLAUSE_POD = 2
CLAUSE_PORT = 3


def established_bypass_flows(*, cookie: int) -> list[Flow]:
    return _bypass_flows(_ESTABLISHED, cookie)


def related_bypass_flows(*, cookie: int) -> list[Flow]:
    """Packets related to an allowed connection (ICMP errors, say) skip the rules too."""
    return _bypass_flows(_RELATED, cookie)


def _bypass_flows(match: Match, cookie: int) -> list[Flow]:
    """Past the NetworkPolicy rules to the baseline table, and past the default table."""
    flows = []
    for direction in (Direction.OUT, Direction.IN):
        flows.append(
            Flow(RULE_TABLE[direction], PRIORITY_HIGH, match, [A.Resubmit(BASELINE_TABLE[direction])], cookie)
        )
        flows.append(
            Flow(
                DEFAULT_TABLE[direction], PRIORITY_HIGH, match, [A.Resubmit(METRIC_TABLE[direction])], cookie
            )
        )
    return flows


def gateway_ingress_bypass_flow(gateway_ip: IPv4Address, *, cookie: int) -> Flow:
    match = Match(ip=True, nw_src=str(gateway_ip))
    return Flow(INGRESS_RULE.id, PRIORITY_HIGH, match, [A.Resubmit(CONNTRACK_COMMIT.id)], cookie)


# -- matches of the three clauses ---------------------------------------------------------------


def peer_match(direction: Direction, ip: int, mask: int) -> Match:
    """Clause 1: a peer network (`mask` 0xffffffff for one address, 0 for every address)."""
    return _matches.ipv4_match(PEER_FIELD[direction], ip, mask)


def pod_match(direction: Direction, pod: int) -> Match:
    """Clause 2: a local pod, by output port (ingress) or by source address (egress)."""
    if direction is Direction.IN:
        return Match(ip=True, reg1=pod)
    return _matches.ipv4_match("nw_src", pod, 0xFFFFFFFF)


def port_match(protocol: int, port: int, mask: int) -> Match:
    """Clause 3: protocol and destination port (value, mask); mask 0 is every port."""
    return Match.from_fields({_PROTOCOL_NAMES[protocol]: True, "tp_dst": (port, mask)})


# -- flows ----------------------------------------------------------------------------------------


def conjunctive_flow(table: int, match: Match, actions: Sequence[A.Conjunction], cookie: int) -> Flow:
    """A clause match, in the RULE_TABLE of its direction, and the conjunction() action of
    every rule that uses it."""
    return Flow(table, PRIORITY_NORMAL, match, actions, cookie)


def conjunction_action_flow(direction: Direction, conj_id: int, *, cookie: int) -> Flow:
    """What a packet matching every clause of conjunction `conj_id` does: record it, go on."""
    actions = [CONJ_ID_FIELD[direction].load(conj_id), A.Resubmit(METRIC_TABLE[direction])]
    return Flow(RULE_TABLE[direction], PRIORITY_LOW, Match(ip=True, conj_id=conj_id), actions, cookie)


def isolation_flow(direction: Direction, pod: int, *, cookie: int) -> Flow:
    """Default isolation: drop what no rule allowed to (ingress) or from (egress) the pod."""
    return Flow(DEFAULT_TABLE[direction], PRIORITY_NORMAL, pod_match(direction, pod), (), cookie)
