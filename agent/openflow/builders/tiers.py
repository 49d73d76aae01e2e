"""Tables 45, 55, 85 and 95: ClusterNetworkPolicy's Admin and Baseline tiers.

A tiered rule is a conjunction as a NetworkPolicy rule is (clause 1 the peer, 2 the local pod,
3 the port; `agent.openflow.builders.policy`), in the tier's table of its direction, at a flow
priority made from its policy's priority (0-1000, lower first) and its level among the
policy's rules of that direction (0-24, first first; `agent.policy.rules.levels`: a rule's
position, less the earlier rules it cannot overlap)::

    priority = 64000 - 32 * policy priority - level

so every rule of a policy comes before every rule of a policy with a higher priority value, and
a policy's rules keep their written order wherever they can match the same packet. Two policies
of one tier with the same priority get the same flow priorities: the API leaves the choice
between them to the implementation, and OVS picks one of the matching conjunctions. The action
flow of a conjunction records its id and:

    Accept  table=45, priority=P,conj_id=7,ip actions=set_field:0x7->reg5,resubmit(,61)
    Deny    table=45, priority=P,conj_id=8,ip actions=drop
    Pass    table=45, priority=P,conj_id=9,ip actions=resubmit(,50)

Accept goes to the metric table (the commit keeps the id, the metric flows count the rule's
connections as a NetworkPolicy rule's); Deny drops (its action flow's counters are the rule's);
Pass skips the rest of the tier: from Admin to the NetworkPolicy rule table, from Baseline to
the default table, which drops nothing for a pod no NetworkPolicy isolates (it records no id: a
later tier decides, and its action flow's counters are the rule's).

Fixed flows, above every rule: replies and related packets skip the tier (to the NetworkPolicy
rule table from Admin, to the default table from Baseline), so a connection a rule accepted gets
its replies and ICMP errors; other packets of established connections are checked against the
tier's rules like new ones, so a Deny that appears cuts the connections it selects, and an Admin
Accept keeps deciding for the connections it accepted. The Admin ingress table also lets the
node's own gateway address through, as IngressRule does (kubelet probes). In the Baseline tables,
a pod that a NetworkPolicy isolates in that direction goes straight to the default table: the
NetworkPolicy tier has decided for it (`isolation_skip_flow`, beside its isolation drop).

Domain-name peers (ClusterNetworkPolicy `domainNames`): the DNS answers (UDP and TCP from port 53,
replies of a connection the pod opened) to a local pod that a rule with domain names applies to
go to the agent before anything else of AdminIngressRule (`dns_intercept_flows`, above the
bypass of replies); the agent learns the answered addresses, installs them into the rule's
peers and then sends the answer on to the pod (`agent.fqdn`)::

    table=85, priority=64995,ct_state=+rpl+trk,udp,nw_dst=172.16.1.5,tp_src=53 actions=CONTROLLER:65535
"""

from __future__ import annotations

from ipaddress import IPv4Address

from agent.openflow import _matches
from agent.openflow.builders.policy import (
    CONJ_ID_FIELD,
    DEFAULT_TABLE,
    METRIC_TABLE,
    RULE_TABLE,
    pod_match,
)
from agent.openflow.pipeline import (
    ADMIN_EGRESS_RULE,
    ADMIN_INGRESS_RULE,
    BASELINE_EGRESS_RULE,
    BASELINE_INGRESS_RULE,
    CONNTRACK_COMMIT,
    PRIORITY_DNS_INTERCEPT,
    PRIORITY_TIER_BYPASS,
)
from fastpath import Flow, Match
from fastpath import actions as A
from pyantrea_api.objects import Direction, RuleAction, Tier

TIER_TABLE = {
    (Tier.ADMIN, Direction.OUT): ADMIN_EGRESS_RULE.id,
    (Tier.ADMIN, Direction.IN): ADMIN_INGRESS_RULE.id,
    (Tier.BASELINE, Direction.OUT): BASELINE_EGRESS_RULE.id,
    (Tier.BASELINE, Direction.IN): BASELINE_INGRESS_RULE.id,
}
TABLE_TIER = {table: key for key, table in TIER_TABLE.items()}
"""(tier, direction) of each tier table."""

TOP_RULE_PRIORITY = 64000
POLICY_PRIORITY_STEP = 32
"""More than the 25 rules a direction of a policy may have."""
MAX_POLICY_PRIORITY = 1000


def rule_priority(policy_priority: int, position: int) -> int:
    """The flow priority of a tiered rule's clause and action flows (`position`: its level)."""
    if not 0 <= policy_priority <= MAX_POLICY_PRIORITY:
        raise ValueError(f"policy priority {policy_priority} is out of range 0-{MAX_POLICY_PRIORITY}")
    if not 0 <= position < POLICY_PRIORITY_STEP:
        raise ValueError(f"rule position {position} is out of range 0-{POLICY_PRIORITY_STEP - 1}")
    return TOP_RULE_PRIORITY - POLICY_PRIORITY_STEP * policy_priority - position


def pass_table(tier: Tier, direction: Direction) -> int:
    """Where Pass goes: past the rest of the tier."""
    return RULE_TABLE[direction] if tier is Tier.ADMIN else DEFAULT_TABLE[direction]


def action_flow(
    tier: Tier, direction: Direction, action: RuleAction, priority: int, conj_id: int, *, cookie: int
) -> Flow:
    """What a packet matching every clause of tiered conjunction `conj_id` does."""
    match = Match(ip=True, conj_id=conj_id)
    table = TIER_TABLE[(tier, direction)]
    if action is RuleAction.DENY:
        return Flow(table, priority, match, (), cookie)
    if action is RuleAction.PASS:
        return Flow(table, priority, match, [A.Resubmit(pass_table(tier, direction))], cookie)
    actions = [CONJ_ID_FIELD[direction].load(conj_id), A.Resubmit(METRIC_TABLE[direction])]
    return Flow(table, priority, match, actions, cookie)


def tier_bypass_flows(*, cookie: int) -> list[Flow]:
    """Replies and related packets skip every tier table."""
    flows = []
    for (tier, direction), table in TIER_TABLE.items():
        target = pass_table(tier, direction)
        for state in ("-new+rpl+trk", "-new+rel+trk"):
            flows.append(
                Flow(
                    table, PRIORITY_TIER_BYPASS, Match(ip=True, ct_state=state), [A.Resubmit(target)], cookie
                )
            )
    return flows


def gateway_admin_bypass_flow(gateway_ip: IPv4Address, *, cookie: int) -> Flow:
    """The node itself reaches every pod (kubelet probes), past the Admin ingress rules too."""
    match = Match(ip=True, nw_src=str(gateway_ip))
    return Flow(ADMIN_INGRESS_RULE.id, PRIORITY_TIER_BYPASS, match, [A.Resubmit(CONNTRACK_COMMIT.id)], cookie)


def isolation_skip_flow(direction: Direction, pod: int, *, cookie: int) -> Flow:
    """A pod a NetworkPolicy isolates in `direction` is past the Baseline tier: to the default
    table, which drops what no NetworkPolicy rule allowed."""
    table = TIER_TABLE[(Tier.BASELINE, direction)]
    actions = [A.Resubmit(DEFAULT_TABLE[direction])]
    return Flow(table, PRIORITY_TIER_BYPASS, pod_match(direction, pod), actions, cookie)


DNS_PORT = 53


def dns_intercept_flows(pod_ip: int, *, cookie: int) -> list[Flow]:
    """The DNS answers to local pod `pod_ip` (an IPv4 address as an int) go to the agent."""
    flows = []
    for protocol in ("udp", "tcp"):
        fields = _matches.ipv4_match("nw_dst", pod_ip, 0xFFFFFFFF).as_dict()
        fields.update({protocol: True, "tp_src": DNS_PORT, "ct_state": "+rpl+trk"})
        actions = [A.Output("CONTROLLER")]
        flows.append(
            Flow(ADMIN_INGRESS_RULE.id, PRIORITY_DNS_INTERCEPT, Match.from_fields(fields), actions, cookie)
        )
    return flows
