"""The policy flows the reconciler wants, kept so that a change costs only the flows it touches.

`PolicyFlows` holds, per `RuleSlot` (direction, table, flow priority: one for each direction's
NetworkPolicy rules, one per priority used in a ClusterNetworkPolicy tier table), the shared
match flows of the three clause kinds (`agent.policy._shared.SharedMatches`: peers, pods, ports;
each match one flow with the conjunction() action of every conjunction that uses it), each
conjunction's own flows (its action flow and, for rules that accept, its three metric flows),
and the default isolation drops (a pod is isolated while any NetworkPolicy rule isolates it,
counted), each with the flow that sends the pod past the Baseline tier while some Baseline rule
of that direction is realized (without one, a node's flows are exactly what they were before
ClusterNetworkPolicy), and the DNS interception of the pods that an egress rule with domain names
applies to (counted as isolation is).

`flush()` turns what is marked into the change to send: the flows to put (new or with other
actions) and the identities to remove. Matches are built once per flow and kept while it lives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from agent.openflow import _matches
from agent.openflow.builders import metrics, tiers
from agent.openflow.builders import policy as builders
from agent.openflow.client import FlowKey
from agent.openflow.cookies import Category, Cookies
from agent.openflow.pipeline import PRIORITY_NORMAL
from agent.policy import _shared
from agent.policy.addresses import PeerAddress, ip_of, mask_of, prefix_of
from agent.policy.ports import PortMatch
from agent.policy.rules import CachedRule
from fastpath import Flow, Match
from pyantrea_api.objects import Direction, RuleAction, Tier


@dataclass(frozen=True, slots=True)
class RuleSlot:
    """Where a rule's clause flows go: every clause of a conjunction shares table and priority."""

    direction: Direction
    table: int
    priority: int


@dataclass(frozen=True, slots=True)
class ConjunctionKind:
    """What a conjunction's own flows are made of."""

    direction: Direction
    tier: Tier
    action: RuleAction
    priority: int


def slot_of(rule: CachedRule) -> RuleSlot:
    if not rule.tiered:
        return RuleSlot(rule.direction, builders.RULE_TABLE[rule.direction], PRIORITY_NORMAL)
    table = tiers.TIER_TABLE[(rule.tier, rule.direction)]
    return RuleSlot(rule.direction, table, tiers.rule_priority(rule.priority, rule.level))


def kind_of(rule: CachedRule) -> ConjunctionKind:
    return ConjunctionKind(rule.direction, rule.tier, rule.action, slot_of(rule).priority)


@dataclass(slots=True)
class FlowChange:
    """Flows to put (add or replace) and flow identities to remove, in one bundle."""

    put: list[Flow] = field(default_factory=list)
    remove: list[FlowKey] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.put or self.remove)


class PolicyFlows:
    """Every policy flow of both directions; `flush()` gives the change since the last flush."""

    def __init__(self, cookies: Cookies) -> None:
        self._cookies = cookies
        self._cookie = cookie = cookies(Category.POLICY)
        self.peers: dict[RuleSlot, _shared.SharedMatches] = {}
        self.pods: dict[RuleSlot, _shared.SharedMatches] = {}
        self.ports: dict[RuleSlot, _shared.SharedMatches] = {}
        self._builders = {d: (_peer_builder(d), _pod_builder(d)) for d in Direction}
        self._isolation_cookie = cookie
        self._isolated: dict[Direction, dict[int, int]] = {d: {} for d in Direction}
        self._isolation_dirty: set[tuple[Direction, int]] = set()
        self._conjunctions: dict[int, tuple[Flow, ...]] = {}
        self._conjunctions_dirty: dict[int, ConjunctionKind | None] = {}
        self._kinds: dict[int, ConjunctionKind] = {}
        self._baseline: dict[Direction, int] = dict.fromkeys(Direction, 0)
        """Baseline conjunctions per direction: while there are any, isolated pods skip them."""
        self._skips: dict[Direction, set[int]] = {d: set() for d in Direction}
        """The pods whose Baseline skip flow is wanted (after a flush)."""
        self._intercepted: dict[int, int] = {}
        """Pod IPv4 address: how many rules with domain names want its DNS answers."""
        self._intercept_dirty: set[int] = set()

    # -- the shared clause flows of a slot -----------------------------------------------------

    def peers_of(self, slot: RuleSlot) -> _shared.SharedMatches:
        matches = self.peers.get(slot)
        if matches is None:
            build = self._builders[slot.direction][0]
            matches = self.peers[slot] = _shared.SharedMatches(slot.table, build, self._cookie, slot.priority)
        return matches

    def pods_of(self, slot: RuleSlot) -> _shared.SharedMatches:
        matches = self.pods.get(slot)
        if matches is None:
            build = self._builders[slot.direction][1]
            matches = self.pods[slot] = _shared.SharedMatches(slot.table, build, self._cookie, slot.priority)
        return matches

    def ports_of(self, slot: RuleSlot) -> _shared.SharedMatches:
        matches = self.ports.get(slot)
        if matches is None:
            matches = self.ports[slot] = _shared.SharedMatches(
                slot.table, _port_match, self._cookie, slot.priority
            )
        return matches

    # -- each conjunction's own flows ----------------------------------------------------------

    def add_conjunction(self, kind: ConjunctionKind, conj_id: int) -> None:
        self._conjunctions_dirty[conj_id] = kind
        self._kinds[conj_id] = kind
        if kind.tier is Tier.BASELINE:
            self._baseline_changed(kind.direction, +1)

    def remove_conjunction(self, conj_id: int) -> None:
        self._conjunctions_dirty[conj_id] = None
        kind = self._kinds.pop(conj_id)
        if kind.tier is Tier.BASELINE:
            self._baseline_changed(kind.direction, -1)

    def _baseline_changed(self, direction: Direction, delta: int) -> None:
        before = self._baseline[direction]
        self._baseline[direction] = after = before + delta
        if (before == 0) != (after == 0):  # every isolated pod's skip flow comes or goes
            self._isolation_dirty.update((direction, pod) for pod in self._isolated[direction])
            self._isolation_dirty.update((direction, pod) for pod in self._skips[direction])

    def _conjunction_flows(self, kind: ConjunctionKind, conj_id: int) -> tuple[Flow, ...]:
        """The action flow and, for a rule that accepts, the metric flows of a conjunction; a
        Deny or Pass rule's action flow counts its packets (category POLICY_METRIC)."""
        direction = kind.direction
        if kind.tier is Tier.NETWORK_POLICY:
            action = builders.conjunction_action_flow(
                direction, conj_id, cookie=self._cookies(Category.POLICY_RULE, conj_id)
            )
        else:
            category = Category.POLICY_RULE if kind.action is RuleAction.ACCEPT else Category.POLICY_METRIC
            action = tiers.action_flow(
                kind.tier,
                direction,
                kind.action,
                kind.priority,
                conj_id,
                cookie=self._cookies(category, conj_id),
            )
            if kind.action is not RuleAction.ACCEPT:
                return (action,)
        counters = metrics.rule_metric_flows(
            direction, conj_id, cookie=self._cookies(Category.POLICY_METRIC, conj_id)
        )
        return (action, *counters)

    # -- default isolation ---------------------------------------------------------------------

    def isolate(self, direction: Direction, pods: Iterable[int]) -> None:
        counts = self._isolated[direction]
        for pod in pods:
            counts[pod] = counts.get(pod, 0) + 1
            if counts[pod] == 1:
                self._isolation_dirty.add((direction, pod))

    def release(self, direction: Direction, pods: Iterable[int]) -> None:
        counts = self._isolated[direction]
        for pod in pods:
            counts[pod] -= 1
            if not counts[pod]:
                del counts[pod]
                self._isolation_dirty.add((direction, pod))

    # -- DNS interception ----------------------------------------------------------------------

    def intercept(self, pods: Iterable[int]) -> None:
        counts = self._intercepted
        for pod in pods:
            counts[pod] = counts.get(pod, 0) + 1
            if counts[pod] == 1:
                self._intercept_dirty.add(pod)

    def release_intercept(self, pods: Iterable[int]) -> None:
        counts = self._intercepted
        for pod in pods:
            counts[pod] -= 1
            if not counts[pod]:
                del counts[pod]
                self._intercept_dirty.add(pod)

    # -- output --------------------------------------------------------------------------------

    def flush(self) -> FlowChange:
        change = FlowChange()
        for tables in (self.peers, self.pods, self.ports):
            for matches in tables.values():
                matches.flush(change.put, change.remove)
        for conj_id, kind in self._conjunctions_dirty.items():
            old = self._conjunctions.pop(conj_id, ())
            new = () if kind is None else self._conjunction_flows(kind, conj_id)
            if new:
                self._conjunctions[conj_id] = new
            change.put.extend(flow for flow in new if flow not in old)
            kept = {flow.key for flow in new}  # none when the id went to the other direction
            change.remove.extend(flow.key for flow in old if flow.key not in kept)
        self._conjunctions_dirty = {}
        cookie = self._isolation_cookie
        for direction, pod in self._isolation_dirty:
            isolated = pod in self._isolated[direction]
            flow = builders.isolation_flow(direction, pod, cookie=cookie)
            if isolated:
                change.put.append(flow)
            else:
                change.remove.append(flow.key)
            skips = self._skips[direction]
            skip = tiers.isolation_skip_flow(direction, pod, cookie=cookie)
            if isolated and self._baseline[direction]:
                if pod not in skips:
                    skips.add(pod)
                    change.put.append(skip)
            elif pod in skips:
                skips.discard(pod)
                change.remove.append(skip.key)
        self._isolation_dirty = set()
        for pod in self._intercept_dirty:
            flows = tiers.dns_intercept_flows(pod, cookie=cookie)
            if pod in self._intercepted:
                change.put.extend(flows)
            else:
                change.remove.extend(flow.key for flow in flows)
        self._intercept_dirty = set()
        return change

    def flows(self) -> list[Flow]:
        """Every flow wanted now (after a `flush`)."""
        result = [
            flow
            for tables in (self.peers, self.pods, self.ports)
            for m in tables.values()
            for flow in m.flows()
        ]
        result.extend(flow for flows in self._conjunctions.values() for flow in flows)
        cookie = self._isolation_cookie
        for direction, counts in self._isolated.items():
            result.extend(builders.isolation_flow(direction, pod, cookie=cookie) for pod in counts)
        for direction, skips in self._skips.items():
            result.extend(tiers.isolation_skip_flow(direction, pod, cookie=cookie) for pod in skips)
        for pod in self._intercepted:
            result.extend(tiers.dns_intercept_flows(pod, cookie=cookie))
        return result

    def counts(self) -> dict[str, int]:
        """How many flows of each kind there are (after a `flush`)."""
        return {
            "peers": sum(len(m) for m in self.peers.values()),
            "pods": sum(len(m) for m in self.pods.values()),
            "ports": sum(len(m) for m in self.ports.values()),
            "conjunctions": len(self._conjunctions),
            "metrics": sum(len(flows) - 1 for flows in self._conjunctions.values()),
            "isolation": sum(len(c) for c in self._isolated.values()),
            "baseline skips": sum(len(s) for s in self._skips.values()),
            "dns intercepts": 2 * len(self._intercepted),
        }


def _peer_builder(direction: Direction) -> Callable[[PeerAddress], Match]:
    field = builders.PEER_FIELD[direction]
    masks = [mask_of(prefix) for prefix in range(33)]

    def build(peer: PeerAddress) -> Match:
        return _matches.ipv4_match(field, ip_of(peer), masks[prefix_of(peer)])

    return build


def _pod_builder(direction: Direction) -> Callable[[int], Match]:
    def build(pod: int) -> Match:
        return builders.pod_match(direction, pod)

    return build


def _port_match(port: PortMatch) -> Match:
    return builders.port_match(port.protocol, port.port, port.mask)
