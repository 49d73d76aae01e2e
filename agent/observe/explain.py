"""A traced packet in pyantrea's terms: the tables it crossed by name, the NetworkPolicy and
ClusterNetworkPolicy rules that decided for it, and where it went.

Policy decisions are read off the flows the packet matched:

* a conjunction's action flow in a tier table (AdminEgressRule 45, BaselineEgressRule 55,
  AdminIngressRule 85, BaselineIngressRule 95): the ClusterNetworkPolicy rule owning it
  accepted, denied or passed the packet, in that tier;

* a conjunction's action flow (`conj_id=N`) in EgressRule (50) or IngressRule (90): the rule
  that owns conjunction N allowed the packet in that direction;
* a drop flow in EgressDefault (60, `nw_src=<pod>`) or IngressDefault (100, `reg1=<ofport>`):
  the pod is isolated in that direction by the rules that apply to it, and none allowed the
  packet (Kubernetes policies have no deny rules: what a selected pod's rules do not allow,
  its isolation drops).

The verdict comes from the end of the last pass: a drop, or the output port (a pod, the
gateway, or the tunnel with its destination node). The output port is what the flows decide
(`output port is N`): on a recirculated pass ofproto/trace takes the tunnel destination the
packet was given in an earlier pass for the address it arrived with, and refuses the tunnel
("Not tunneling to our own address", datapath actions `drop`), which the datapath does not.

A packet to a Service without endpoints goes from ServiceLB (34) to the controller: the verdict
is Rejected (the agent answers a TCP reset or an ICMP port unreachable at once).

Nothing here does I/O; the rule names come from a `PolicyRules` the agent implements over its
policy state. The values of the answer (`RuleRef`, `Port`, `PolicyDecision`, `TraceStep`,
`Verdict`) are the trace contract's (`pyantrea_api.trace`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Protocol

from agent.observe.tracetext import Step, Trace, fields
from agent.openflow.builders.tiers import TABLE_TIER
from agent.openflow.pipeline import (
    EGRESS_DEFAULT,
    EGRESS_RULE,
    INGRESS_DEFAULT,
    INGRESS_RULE,
    PIPELINE,
    PRIORITY_MISS,
    SERVICE_LB,
)
from pyantrea_api.objects import Direction
from pyantrea_api.trace import PolicyDecision, Port, PortRole, RuleRef, TraceStep, Verdict

_RULE_TABLES = {EGRESS_RULE.id: Direction.OUT, INGRESS_RULE.id: Direction.IN}
_DEFAULT_TABLES = {EGRESS_DEFAULT.id: Direction.OUT, INGRESS_DEFAULT.id: Direction.IN}
_OUTPUT_NOTE = "output port is "


class PolicyRules(Protocol):
    """The node's policy rules, by what the flows carry."""

    def allowing(self, conj_id: int) -> RuleRef | None:
        """The rule whose conjunction has this id."""

    def isolating(self, direction: Direction, pod: int) -> tuple[RuleRef, ...]:
        """The rules that isolate a local pod in `direction` (ingress: by its OpenFlow port,
        egress: by its IPv4 address as an integer)."""


@dataclass(frozen=True, slots=True)
class Explanation:
    """One node's part of a packet's way."""

    steps: tuple[TraceStep, ...]
    policies: tuple[PolicyDecision, ...]
    verdict: Verdict
    reason: str
    """Why the verdict, in a sentence."""
    output: Port | None
    tunnel_destination: str | None
    """The peer node address, when tunneled."""
    packet: Mapping[str, str]
    """The packet's fields at the end (what leaves through the output port)."""


def table_name(table: int) -> str:
    try:
        return PIPELINE.by_id(table).name
    except KeyError:
        return f"table {table}"


def explain(trace: Trace, ports: Mapping[int, Port], rules: PolicyRules) -> Explanation:
    steps = trace.steps
    policies = tuple(decision for step in steps if (decision := _decision(step, rules)) is not None)
    explained = tuple(
        TraceStep(s.table, table_name(s.table), s.priority, s.match, s.actions, s.notes) for s in steps
    )
    packet = fields(trace.last.final_flow)
    dropped = next((step for step in steps if step.drops), None)
    if dropped is not None:
        return Explanation(
            explained, policies, Verdict.DROPPED, _drop_reason(dropped, policies), None, None, packet
        )
    if any(s.table == SERVICE_LB.id and _to_controller(s) for s in steps):
        answer = "a TCP reset" if "tcp" in packet else "an ICMP port unreachable"
        reason = f"the Service has no endpoint: ServiceLB sends it to the agent, which answers {answer}"
        return Explanation(explained, policies, Verdict.REJECTED, reason, None, None, packet)
    ofport = _output_port(steps)
    if ofport is None:
        last = steps[-1] if steps else None
        where = f" after {table_name(last.table)}" if last is not None else ""
        reason = f"Open vSwitch drops it{where} (datapath actions: {trace.last.datapath_actions})"
        return Explanation(explained, policies, Verdict.DROPPED, reason, None, None, packet)
    port = ports.get(ofport)
    if port is None:
        reason = f"output to port {ofport}, which is no pod, gateway or tunnel of this node"
        return Explanation(explained, policies, Verdict.FORWARDED, reason, None, None, packet)
    if port.role is PortRole.TUNNEL:
        destination = packet.get("tun_dst")
        reason = f"sent through {port.name} to the node at {destination}"
        return Explanation(explained, policies, Verdict.TUNNELED, reason, port, destination, packet)
    if port.role is PortRole.GATEWAY:
        reason = f"sent to {port.name}, the node's gateway to its host network"
        return Explanation(explained, policies, Verdict.TO_GATEWAY, reason, port, None, packet)
    reason = f"delivered to pod {port.name} (port {ofport})"
    return Explanation(explained, policies, Verdict.DELIVERED, reason, port, None, packet)


def _to_controller(step: Step) -> bool:
    return any(action.upper().startswith("CONTROLLER") for action in step.actions)


def _decision(step: Step, rules: PolicyRules) -> PolicyDecision | None:
    tiered = TABLE_TIER.get(step.table)
    if tiered is not None:
        conj_id = step.match_field("conj_id")
        if conj_id is None:
            return None
        tier, way = tiered
        rule = rules.allowing(int(conj_id, 0))
        if step.drops:
            action = "Deny"
        elif rule is not None and rule.action:
            action = rule.action
        else:
            action = "Accept" if any("->reg" in a for a in step.actions) else "Pass"
        return PolicyDecision(way, action != "Deny", () if rule is None else (rule,), tier.value, action)
    direction = _RULE_TABLES.get(step.table)
    if direction is not None:
        conj_id = step.match_field("conj_id")
        if conj_id is None:
            return None
        rule = rules.allowing(int(conj_id, 0))
        return PolicyDecision(direction, True, () if rule is None else (rule,))
    direction = _DEFAULT_TABLES.get(step.table)
    if direction is None or not step.drops or step.priority == PRIORITY_MISS:
        return None
    pod = _isolated_pod(step, direction)
    return PolicyDecision(direction, False, () if pod is None else rules.isolating(direction, pod))


def _isolated_pod(step: Step, direction: Direction) -> int | None:
    if direction is Direction.IN:
        ofport = step.match_field("reg1")
        return None if ofport is None else int(ofport, 0)
    address = step.match_field("nw_src")
    return None if address is None else int(IPv4Address(address))


def _drop_reason(step: Step, policies: tuple[PolicyDecision, ...]) -> str:
    name = table_name(step.table)
    denied = next((p for p in policies if not p.allowed), None)
    if step.table in TABLE_TIER and denied is not None and denied.action == "Deny":
        named = ", ".join(r.text for r in denied.rules) or f"a {denied.tier} tier rule"
        return f"dropped by {name}: {named} denies it"
    if step.table in _DEFAULT_TABLES and denied is not None:
        way = "ingress" if denied.direction is Direction.IN else "egress"
        if not denied.rules:
            return f"dropped by {name}: the pod is isolated for {way} and no rule allows the packet"
        named = ", ".join(f"{r.namespace}/{r.name} {r.rule}" for r in denied.rules)
        return f"dropped by {name}: isolated for {way} by NetworkPolicy {named}; no rule allows the packet"
    if step.priority == PRIORITY_MISS:
        return f"dropped by {name}: no flow of the table matches the packet"
    return f"dropped by {name}: the flow {step.match or '(any)'} drops it"


def _output_port(steps: tuple[Step, ...]) -> int | None:
    for step in reversed(steps):
        for note in step.notes:
            if note.startswith(_OUTPUT_NOTE):
                return int(note.removeprefix(_OUTPUT_NOTE))
    return None
