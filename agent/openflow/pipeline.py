"""The OpenFlow pipeline of br-int: every table, once, with its fixed number.

Numbers are the ones of Antrea's early pipeline (and of the introduction article), so a user's
`ovs-ofctl dump-flows br-int | grep table=90` finds the ingress rules; the metric tables take
the free numbers after the default tables::

    in ─▶ 0 Classifier ─┬─ gw0, pods ─▶ 10 SpoofGuard ─┬─ arp ─▶ 20 ARPResponder ─▶ NORMAL / reply
                        │                              └─ ip ──┐
                        └─ tun0 ───────────────────────────────┴─▶ 30 Conntrack ─▶ ct(zone[,nat]) ─▶
        31 ConntrackState ─▶ 32 NodePortMark ─▶ 33 SessionAffinity ─▶ 34 ServiceLB ─▶ group ─▶
        35 EndpointDNAT ─ ct(commit,nat(dst=endpoint)) ─▶ 45 ... (AntreaProxy; empty without it)
        40 DNAT ─┬─ service CIDR (kube-proxy mode only) ────────────────────────────────────────┐
                 └─▶ 45 AdminEgressRule ─▶ 50 EgressRule ─▶                                     │
        55 BaselineEgressRule ─▶ 60 EgressDefault ─▶ 61 EgressMetric ─▶                         │
        70 L3Forwarding ─┬─ remote subnet: tun_dst, reg1=tun0 ──────────────────────────────────┤
                         └─▶ 80 L2ForwardingCalc ─▶ 85 AdminIngressRule ─▶ 90 IngressRule ─▶    │
        95 BaselineIngressRule ─▶ 100 IngressDefault ─▶ 101 IngressMetric ─▶                    │
        105 ConntrackCommit ◀───────────────────────────────────────────────────────────────────┘
                             └─▶ 106 ServiceSNAT (hairpin, external) ─▶ 110 L2ForwardingOut ─▶ output:reg1

NodePortMark (32) resubmits to SessionAffinity (33) and then to ServiceLB (34), so a learned
affinity flow (which cannot resubmit: `learn` only writes matches and loads) and a miss of 33
both return to 32, which goes on to 34. A Service connection goes on, DNATed, to the first
egress policy table after DNAT (40), so every policy tier sees the endpoint.

ClusterNetworkPolicy's tiers are tables of their own around the NetworkPolicy tables of each
direction, numbered from the free numbers between the article's (which never move): Admin
before the NetworkPolicy rules (45 before 50, 85 before 90: 85 because the ingress rules need
the output port L2ForwardingCalc (80) finds), Baseline after the NetworkPolicy rules and before
their default table (55, 95), because Baseline decides only for pods no NetworkPolicy isolates
in that direction: the baseline table sends those pods' packets on to the default table,
which drops them, before any baseline rule. A tiered rule's flows sit at a priority made from
its policy's priority and its position (`agent.openflow.builders.tiers`). Accept goes to the
metric table (past everything else of the direction), Deny drops, Pass skips the rest of its
tier: from Admin to the NetworkPolicy rules, from Baseline to the default table.

A packet a NetworkPolicy rule allows skips the rest of the rule table and its default table:
50 resubmits it to 61, 90 to 101. A packet of an established or related connection skips the
NetworkPolicy rules (50 to 55, 90 to 95) and, past the baseline table, the default table (60 to
61, 100 to 101), so a NetworkPolicy change never cuts a connection; the tier tables let replies
and related packets through but check every other packet of an established connection against
their rules, so a Deny that appears cuts the connections it selects. The metric tables
(Antrea's EgressMetric and IngressMetric) hold three flows per rule that count every packet of
the connections the rule allowed (`agent.openflow.builders.metrics`); everything goes on to the
next table.

Each `Table` says what happens to a packet that no flow of the table matches (`Miss`): DROP, or
NEXT, a priority-0 flow that resubmits to the next table of `PIPELINE`. Flows jump between
tables with `resubmit(,N)` as Antrea's early agent did, so dumps read like the article's.

Adding a table: pick a free number between the neighbours it sits between (design rule: the
numbers above never move), declare it below as a `Table` with its miss behaviour, insert it into
`PIPELINE` in numeric order (the `Pipeline` constructor rejects anything else), write its
builders in `agent.openflow.builders`, and give the flows an owner in `agent.openflow.features`
or in the feature that needs them. Nothing here is mutable: the pipeline is a value.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum


class Miss(Enum):
    """What a table does with packets that match none of its flows."""

    DROP = "drop"
    NEXT = "next"


@dataclass(frozen=True, slots=True)
class Table:
    id: int
    name: str
    miss: Miss
    then: tuple[int, ...] = ()
    """With Miss.NEXT: the tables a miss resubmits to, in order (default: the next table)."""


CLASSIFIER = Table(0, "Classifier", Miss.DROP)
SPOOF_GUARD = Table(10, "SpoofGuard", Miss.DROP)
ARP_RESPONDER = Table(20, "ARPResponder", Miss.DROP)
CONNTRACK = Table(30, "Conntrack", Miss.DROP)
CONNTRACK_STATE = Table(31, "ConntrackState", Miss.NEXT)
NODE_PORT_MARK = Table(32, "NodePortMark", Miss.NEXT, then=(33, 34))
SESSION_AFFINITY = Table(33, "SessionAffinity", Miss.DROP)
SERVICE_LB = Table(34, "ServiceLB", Miss.NEXT)
ENDPOINT_DNAT = Table(35, "EndpointDNAT", Miss.NEXT)
DNAT = Table(40, "DNAT", Miss.NEXT)
ADMIN_EGRESS_RULE = Table(45, "AdminEgressRule", Miss.NEXT)
EGRESS_RULE = Table(50, "EgressRule", Miss.NEXT)
BASELINE_EGRESS_RULE = Table(55, "BaselineEgressRule", Miss.NEXT)
EGRESS_DEFAULT = Table(60, "EgressDefault", Miss.NEXT)
EGRESS_METRIC = Table(61, "EgressMetric", Miss.NEXT)
L3_FORWARDING = Table(70, "L3Forwarding", Miss.NEXT)
L2_FORWARDING_CALC = Table(80, "L2ForwardingCalc", Miss.NEXT)
ADMIN_INGRESS_RULE = Table(85, "AdminIngressRule", Miss.NEXT)
INGRESS_RULE = Table(90, "IngressRule", Miss.NEXT)
BASELINE_INGRESS_RULE = Table(95, "BaselineIngressRule", Miss.NEXT)
INGRESS_DEFAULT = Table(100, "IngressDefault", Miss.NEXT)
INGRESS_METRIC = Table(101, "IngressMetric", Miss.NEXT)
CONNTRACK_COMMIT = Table(105, "ConntrackCommit", Miss.NEXT)
SERVICE_SNAT = Table(106, "ServiceSNAT", Miss.NEXT)
L2_FORWARDING_OUT = Table(110, "L2ForwardingOut", Miss.DROP)


@dataclass(frozen=True, slots=True)
class Pipeline:
    """Tables in packet order; `next(table)` is where a NEXT miss resubmits to."""

    tables: tuple[Table, ...]

    def __post_init__(self) -> None:
        ids = [t.id for t in self.tables]
        if ids != sorted(set(ids)):
            raise ValueError(f"pipeline tables must have distinct ids in increasing order, got {ids}")
        names = [t.name for t in self.tables]
        if len(set(names)) != len(names):
            raise ValueError(f"pipeline table names must be distinct, got {names}")
        if self.tables and self.tables[-1].miss is Miss.NEXT:
            raise ValueError(f"the last table {self.tables[-1].name} has no next table for its misses")

    def __iter__(self) -> Iterator[Table]:
        return iter(self.tables)

    def next(self, table: Table) -> Table:
        index = self.tables.index(table)
        if index + 1 == len(self.tables):
            raise ValueError(f"table {table.name} is the last one")
        return self.tables[index + 1]

    def by_id(self, table_id: int) -> Table:
        for table in self.tables:
            if table.id == table_id:
                return table
        raise KeyError(f"no table {table_id} in the pipeline")


PIPELINE = Pipeline(
    (
        CLASSIFIER,
        SPOOF_GUARD,
        ARP_RESPONDER,
        CONNTRACK,
        CONNTRACK_STATE,
        NODE_PORT_MARK,
        SESSION_AFFINITY,
        SERVICE_LB,
        ENDPOINT_DNAT,
        DNAT,
        ADMIN_EGRESS_RULE,
        EGRESS_RULE,
        BASELINE_EGRESS_RULE,
        EGRESS_DEFAULT,
        EGRESS_METRIC,
        L3_FORWARDING,
        L2_FORWARDING_CALC,
        ADMIN_INGRESS_RULE,
        INGRESS_RULE,
        BASELINE_INGRESS_RULE,
        INGRESS_DEFAULT,
        INGRESS_METRIC,
        CONNTRACK_COMMIT,
        SERVICE_SNAT,
        L2_FORWARDING_OUT,
    )
)

# Flow priorities (Antrea's early constants).
PRIORITY_HIGH = 210
PRIORITY_NORMAL = 200
PRIORITY_LOW = 190
PRIORITY_MISS = 0
PRIORITY_TIER_BYPASS = 64990
"""Tier tables: replies, related packets, and (Baseline) pods a NetworkPolicy isolates."""
PRIORITY_DNS_INTERCEPT = 64995
"""AdminIngressRule: DNS answers to pods with domain-name rules go to the agent first."""
