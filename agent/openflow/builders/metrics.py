"""Tables 61 and 101: EgressMetric and IngressMetric, each rule's packet and byte counters.

A rule's counters are the counters of its three metric flows, which count every packet of the
connections the rule allowed, both ways, each once. The packet that opens a connection reaches
the metric table of the rule's direction from the rule's conjunction action flow, with the
rule's conj_id in reg5 (egress) or reg6 (ingress); the commit (table 105) then keeps that id
in the connection's ct_label (bits 32..63 egress, 0..31 ingress), and every later packet, which
skips the rule tables, is counted by its label::

    table=101, priority=200,ct_state=+new+trk,ip,reg6=0x7 actions=resubmit(,105)
    table=101, priority=200,ct_state=-new-rpl+trk,ct_label=0x7/0xffffffff,ip actions=resubmit(,105)
    table=61, priority=200,ct_state=+rpl+trk,ct_label=0x7/0xffffffff,ip actions=resubmit(,70)

Later packets are counted by their conntrack direction, each in a metric table it always
passes: every packet passes EgressMetric (but those for the service CIDR, whose connections
carry no rule id), and every packet for a local pod passes IngressMetric (packets for other
nodes go from L3Forwarding straight to the commit, as in the article). An egress rule's
connections start at a local pod: their original packets are counted in EgressMetric, their
replies, back to the pod, in IngressMetric. An ingress rule's connections end at a local pod:
original packets in IngressMetric, replies in EgressMetric. So in each table a packet meets at
most one rule's flows (a packet matches one flow per table), even when an egress and an ingress
rule both allowed its connection between two local pods.

Every flow goes on to the next table, and so does a packet that matches none (the table's NEXT
miss). A rule costs these three flows besides its n + m + p + 1 in the rule table.
"""

from __future__ import annotations

from agent.openflow import registers as R
from agent.openflow.builders.policy import CONJ_ID_FIELD, METRIC_TABLE
from agent.openflow.pipeline import PIPELINE, PRIORITY_NORMAL
from fastpath import Flow, Match
from fastpath import actions as A
from pyantrea_api.objects import Direction

RULE_CT_LABEL = {Direction.IN: R.INGRESS_RULE_CT_LABEL, Direction.OUT: R.EGRESS_RULE_CT_LABEL}
"""Where the commit keeps the id of the rule that allowed a connection, per direction."""
_OTHER = {Direction.IN: Direction.OUT, Direction.OUT: Direction.IN}


def rule_metric_flows(direction: Direction, conj_id: int, *, cookie: int) -> list[Flow]:
    """The three flows counting conjunction `conj_id`'s traffic: the packets that open
    connections (the id in its register), their later packets in the original direction and
    their replies (the id in the connection's ct_label)."""
    label = RULE_CT_LABEL[direction].match(conj_id)
    own = METRIC_TABLE[direction]
    other = METRIC_TABLE[_OTHER[direction]]
    opening = Match(ip=True, ct_state="+new+trk", **CONJ_ID_FIELD[direction].match(conj_id))
    original = Match(ip=True, ct_state="-new-rpl+trk", **label)
    reply = Match(ip=True, ct_state="+rpl+trk", **label)
    return [
        Flow(own, PRIORITY_NORMAL, opening, _go_on(own), cookie),
        Flow(own, PRIORITY_NORMAL, original, _go_on(own), cookie),
        Flow(other, PRIORITY_NORMAL, reply, _go_on(other), cookie),
    ]


def _go_on(table: int) -> list[A.Resubmit]:
    return [A.Resubmit(PIPELINE.next(PIPELINE.by_id(table)).id)]
