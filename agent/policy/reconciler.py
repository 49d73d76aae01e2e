"""The reconciler: realizable rules to conjunctions, and the flow change that realizes them.

A rule becomes one conjunction per port set (`agent.policy.ports`): one for a rule without
named ports; for a named port, one per distinct resolution, since a name may mean different
numbers on different pods (ingress: resolved by the local pods' ports, each conjunction taking
the pods that resolve alike and every peer; egress: by the peers' ports, each conjunction
taking the peers that resolve alike and every local pod; ipBlock peers match only the numbered
ports). A conjunction has two clauses (peers, pods) or three (and ports), and an id from the
one allocator. A pod a NetworkPolicy rule applies to is isolated in the rule's direction,
whatever the rule allows; a ClusterNetworkPolicy rule isolates nothing, and its flows go to its
tier's table at its own priority (`flowtable.slot_of`). A rule's domain-name peers add the
addresses learned for them (`RuleCache.domain_addresses_of`) to its ipBlocks' (numbered ports
only, as ipBlocks), and an egress rule with domain names has its local pods' DNS answers sent to
the agent (`PolicyFlows.intercept`).

`reconcile(dirty)` recomputes only the dirty rules: a rule's new conjunctions are diffed
against its realized ones (peer and pod sets diff in C) and only the difference reaches the
shared match flows. A patch of an AddressGroup checks only the addresses it touched, so one new
member of a group that k rules use changes one flow (its address's, with k actions).
`flush()` then gives the flow change; nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.openflow.cookies import Cookies
from agent.policy.addresses import PeerAddress, block_addresses, host_addresses
from agent.policy.allocator import ConjIdAllocator
from agent.policy.cache import RuleCache
from agent.policy.dirty import Dirty
from agent.policy.flowtable import FlowChange, PolicyFlows, RuleSlot, kind_of, slot_of
from agent.policy.ports import PortSet, has_named_ports, resolve, static_ports
from agent.policy.rules import CachedRule, RuleId
from fastpath import Flow
from fastpath import actions as A
from pyantrea_api.objects import Direction

PortKey = PortSet | None
"""A conjunction's ports; None: every port (a two-clause conjunction)."""


@dataclass(slots=True)
class Conjunction:
    """One realized conjunction: its id, actions per clause, and its peers and pods."""

    id: int
    slot: RuleSlot
    ports: PortKey
    peer_action: A.Conjunction
    pod_action: A.Conjunction
    port_action: A.Conjunction | None
    peers: set[PeerAddress]
    pods: set[int]


@dataclass(slots=True)
class RealizedRule:
    """What a rule has in the flows: its conjunctions by port set, and the pods it isolates."""

    rule: CachedRule
    blocks: frozenset[PeerAddress]
    """The peer addresses of its ipBlocks (fixed for the rule's life)."""
    conjunctions: dict[PortKey, Conjunction] = field(default_factory=dict)
    isolated: set[int] = field(default_factory=set)
    learned: frozenset[PeerAddress] = frozenset()
    """The addresses learned for its domain names, when it was last computed."""
    intercepted: set[int] = field(default_factory=set)
    """The local pods (IPv4 addresses) whose DNS answers it has sent to the agent."""

    @property
    def fixed(self) -> frozenset[PeerAddress]:
        """Its peer addresses that are not a group's: ipBlocks and learned addresses."""
        return self.blocks | self.learned if self.learned else self.blocks


Classes = dict[PortKey, tuple[set[PeerAddress], set[int]]]


class Reconciler:
    """Realizes the rules of the cache's store into `PolicyFlows`; every conj_id comes from `allocator`."""

    def __init__(self, cache: RuleCache, cookies: Cookies, allocator: ConjIdAllocator) -> None:
        self._cache = cache
        self._store = cache.store
        self._allocator = allocator
        self.flows = PolicyFlows(cookies)
        self._realized: dict[RuleId, RealizedRule] = {}
        self._conjunction_rules: dict[int, RuleId] = {}

    # -- what the realizer uses ------------------------------------------------------------------

    def reconcile(self, dirty: Dirty) -> FlowChange:
        """Bring the dirty rules' flows up to date; returns the flow change to install."""
        for rule_id in sorted(dirty.rules):  # the same input, the same conj_ids
            self._recompute(rule_id)
        for rule_id, addresses in dirty.addresses.items():
            if rule_id not in dirty.rules:
                self._patch_peers(rule_id, addresses)
        return self.flows.flush()

    def realized(self, rule_id: RuleId) -> RealizedRule | None:
        return self._realized.get(rule_id)

    def rule_of(self, conj_id: int) -> RuleId | None:
        """The rule a conjunction id belongs to (while it is allocated)."""
        return self._conjunction_rules.get(conj_id)

    def release_all(self) -> None:
        """Give every conj_id back (the realizer starts over with a fresh reconciler)."""
        for conj_id in self._conjunction_rules:
            self._allocator.release(conj_id)
        self._conjunction_rules = {}

    def all_flows(self) -> list[Flow]:
        return self.flows.flows()

    # -- computing a rule ------------------------------------------------------------------------

    def _recompute(self, rule_id: RuleId) -> None:
        rule = self._store.rule(rule_id)
        realized = self._realized.get(rule_id)
        if rule is None or not self._store.realizable(rule):
            if realized is not None:
                self._forget(realized)
            return
        if realized is None:
            blocks = frozenset(a for block in rule.peer.ip_blocks for a in block_addresses(block))
            realized = self._realized[rule_id] = RealizedRule(rule, blocks)
        else:
            realized.rule = rule  # the same content (the id is its hash), maybe another object
        realized.learned = self._cache.domain_addresses_of(rule)
        classes, isolated = self._classes(realized)
        self._apply(realized, classes, isolated)
        intercepted = self._intercepted(realized)
        if intercepted != realized.intercepted:
            self.flows.release_intercept(realized.intercepted - intercepted)
            self.flows.intercept(intercepted - realized.intercepted)
            realized.intercepted = intercepted

    def _intercepted(self, realized: RealizedRule) -> set[int]:
        if not realized.rule.intercepts_dns:
            return set()
        return {pod.ip for _, pod in self._cache.local_pods_of(realized.rule)}

    def _classes(self, realized: RealizedRule) -> tuple[Classes, set[int]]:
        """The conjunctions the rule wants now (port set: peers, pods), and the pods it isolates."""
        rule = realized.rule
        ingress = rule.direction is Direction.IN
        local = self._cache.local_pods_of(rule)
        applied = {pod.ofport if ingress else pod.ip for _, pod in local}
        isolated = set() if rule.tiered else applied
        if not local:
            return {}, isolated
        services = rule.services
        if not has_named_ports(services):
            peers = self._peers(realized)
            if not peers:
                return {}, isolated
            return {static_ports(services) if services else None: (peers, set(applied))}, isolated
        if ingress:
            classes: Classes = {}
            peers = self._peers(realized)
            if peers:
                for member, pod in local:
                    ports = resolve(services, member.ports)
                    if not ports:
                        continue
                    if ports not in classes:
                        classes[ports] = (set(peers), set())
                    classes[ports][1].add(pod.ofport)
            return classes, isolated
        by_ports: dict[PortSet, set[PeerAddress]] = {}
        for group in self._store.address_groups_of(rule):
            for member in group.members.values():
                ports = resolve(services, member.ports)
                if ports:
                    by_ports.setdefault(ports, set()).update(host_addresses(member.ips))
        numbered = static_ports(s for s in services if not isinstance(s.port, str))
        if numbered and realized.fixed:
            by_ports.setdefault(numbered, set()).update(realized.fixed)
        return {ports: (peers, set(applied)) for ports, peers in by_ports.items() if peers}, isolated

    def _peers(self, realized: RealizedRule) -> set[PeerAddress]:
        groups = self._store.address_groups_of(realized.rule)
        fixed = realized.fixed
        if len(groups) == 1 and not fixed:
            return set(groups[0].addresses)
        peers = set(fixed)
        for group in groups:
            peers.update(group.addresses)
        return peers

    def _apply(self, realized: RealizedRule, classes: Classes, isolated: set[int]) -> None:
        direction = realized.rule.direction
        conjunctions = realized.conjunctions
        for ports in conjunctions.keys() - classes.keys():
            self._drop(conjunctions.pop(ports))
        for ports, (peers, pods) in sorted(classes.items(), key=_by_ports):
            conjunction = conjunctions.get(ports)
            if conjunction is None:
                conjunctions[ports] = self._create(realized.rule, ports, peers, pods)
            else:
                self._update(conjunction, peers, pods)
        flows = self.flows
        flows.release(direction, realized.isolated - isolated)
        flows.isolate(direction, isolated - realized.isolated)
        realized.isolated = isolated

    def _patch_peers(self, rule_id: RuleId, addresses: set[PeerAddress]) -> None:
        """Only these addresses of the rule's peers may have changed: check just them."""
        realized = self._realized.get(rule_id)
        if realized is None or not realized.conjunctions:
            self._recompute(rule_id)
            return
        rule = realized.rule
        if rule.direction is Direction.OUT and has_named_ports(rule.services):
            self._recompute(rule_id)  # the peers' ports decide their conjunction
            return
        groups = [group.addresses for group in self._store.address_groups_of(rule)]
        blocks = realized.fixed
        wanted = {a for a in addresses if a in blocks or any(a in group for group in groups)}
        unwanted = addresses - wanted
        peer_flows = self.flows.peers_of(slot_of(rule))
        for conjunction in realized.conjunctions.values():
            added = wanted - conjunction.peers
            removed = unwanted & conjunction.peers
            if added:
                conjunction.peers |= added
                peer_flows.add(added, conjunction.peer_action)
            if removed:
                conjunction.peers -= removed
                peer_flows.remove(removed, conjunction.id)
            if not conjunction.peers:
                self._recompute(rule_id)  # no peer left: the conjunction goes
                return

    # -- conjunctions ----------------------------------------------------------------------------

    def _create(
        self, rule: CachedRule, ports: PortKey, peers: set[PeerAddress], pods: set[int]
    ) -> Conjunction:
        conj_id = self._allocator.allocate()
        n_clauses = 2 if ports is None else 3
        slot = slot_of(rule)
        conjunction = Conjunction(
            conj_id,
            slot,
            ports,
            A.Conjunction(conj_id, 1, n_clauses),
            A.Conjunction(conj_id, 2, n_clauses),
            None if ports is None else A.Conjunction(conj_id, 3, 3),
            peers,
            pods,
        )
        flows = self.flows
        flows.peers_of(slot).add(peers, conjunction.peer_action)
        flows.pods_of(slot).add(pods, conjunction.pod_action)
        if ports is not None and conjunction.port_action is not None:
            flows.ports_of(slot).add(ports, conjunction.port_action)
        flows.add_conjunction(kind_of(rule), conj_id)
        self._conjunction_rules[conj_id] = rule.id
        return conjunction

    def _update(self, conjunction: Conjunction, peers: set[PeerAddress], pods: set[int]) -> None:
        flows = self.flows
        slot = conjunction.slot
        current = conjunction.peers
        removed, added = current - peers, peers - current
        if removed:
            flows.peers_of(slot).remove(removed, conjunction.id)
            current -= removed
        if added:
            flows.peers_of(slot).add(added, conjunction.peer_action)
            current |= added
        current_pods = conjunction.pods
        removed_pods, added_pods = current_pods - pods, pods - current_pods
        if removed_pods:
            flows.pods_of(slot).remove(removed_pods, conjunction.id)
            current_pods -= removed_pods
        if added_pods:
            flows.pods_of(slot).add(added_pods, conjunction.pod_action)
            current_pods |= added_pods

    def _drop(self, conjunction: Conjunction) -> None:
        flows = self.flows
        slot = conjunction.slot
        flows.peers_of(slot).remove(conjunction.peers, conjunction.id)
        flows.pods_of(slot).remove(conjunction.pods, conjunction.id)
        if conjunction.ports is not None:
            flows.ports_of(slot).remove(conjunction.ports, conjunction.id)
        flows.remove_conjunction(conjunction.id)
        del self._conjunction_rules[conjunction.id]
        self._allocator.release(conjunction.id)

    def _forget(self, realized: RealizedRule) -> None:
        direction = realized.rule.direction
        for conjunction in realized.conjunctions.values():
            self._drop(conjunction)
        self.flows.release(direction, realized.isolated)
        self.flows.release_intercept(realized.intercepted)
        del self._realized[realized.rule.id]


def _by_ports(item: tuple[PortKey, object]) -> tuple[bool, PortSet]:
    """Conjunctions are created in port order, so ids are the same for the same input."""
    ports = item[0]
    return (ports is not None, ports or ())
