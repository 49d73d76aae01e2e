"""The rule cache: this node's policies split into rules, their groups, and the local pods.

It is the policy store's `PolicyListener` (`agent.policy.store`): a replace or a batch of the
store's typed changes updates the policies (split into content-hashed rules,
`agent.policy.rules`), the AddressGroups (members and the peer addresses they hold) and the
AppliedToGroups (this node's members), and records what the change makes dirty for the reconciler:

- `rules`: rules to recompute whole: added, removed, edited (a new id), of a policy whose
  groups arrived, changed or went, or applied to a local pod that was attached or detached;
- `addresses`: for a rule whose AddressGroup got a patch, the peer addresses that patch may
  have added or removed (the reconciler checks just those, not the group's every member);
- `policies`: policies whose realization to report once the flows are installed, and
  `deleted`: the policies gone.

A rule with domain-name peers (`peer.fqdns`) also holds the addresses a `DomainAddresses`
source (`agent.fqdn`) has learned for them; `domain_names_changed` marks the rules whose names
it concerns dirty. A rule is realizable only once every group it names has arrived. Local pods
(the attached pod interfaces: OpenFlow port and address) come from the pod datapath; an
AppliedToGroup member that is not attached yet has no flows until it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from agent.policy.addresses import HOST, PeerAddress
from agent.policy.rules import CachedRule, RuleId, rules_of
from agent.policy.store import (
    AddressGroupDeleted,
    AddressGroupPatched,
    AddressGroupSet,
    AppliedToGroupDeleted,
    AppliedToGroupSet,
    Change,
    PolicyDeleted,
    PolicySet,
    PolicySnapshot,
    StateSource,
)
from pyantrea_api.domainnames import matches
from pyantrea_api.objects import GroupMember, GroupPatch, InternalNetworkPolicy, PodKey


class DomainAddresses(Protocol):
    """What the agent has learned of domain names from DNS answers (`agent.fqdn.cache`)."""

    def addresses(self, patterns: Iterable[str]) -> set[PeerAddress]:
        """The /32 peer addresses of every unexpired name that one of `patterns` matches."""
        ...


@dataclass(frozen=True, slots=True)
class LocalPod:
    """A pod attached on this node: its container, OpenFlow port and IPv4 address."""

    container_id: str
    ofport: int
    ip: int


@dataclass(slots=True)
class Dirty:
    """What changed since the reconciler last looked."""

    rules: set[RuleId] = field(default_factory=set)
    addresses: dict[RuleId, set[PeerAddress]] = field(default_factory=dict)
    policies: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    """Policies gone (their rules are in `rules`)."""

    def __bool__(self) -> bool:
        return bool(self.rules or self.addresses or self.policies or self.deleted)


class AddressGroupIndex:
    """An AddressGroup's members, and how many of them hold each peer address."""

    __slots__ = ("addresses", "members")

    def __init__(self, members: Iterable[GroupMember]) -> None:
        self.members: dict[PodKey, GroupMember] = {}
        self.addresses: dict[PeerAddress, int] = {}
        by_key, addresses = self.members, self.addresses
        for member in members:  # the loop of a whole group's arrival, kept tight
            key = (member.namespace, member.name)
            old = by_key.get(key)
            if old is not None:
                self._forget(old)
            by_key[key] = member
            for ip in member.ips:
                if len(ip) == 4:
                    peer = (int.from_bytes(ip, "big") << 6) | HOST
                    addresses[peer] = addresses.get(peer, 0) + 1

    def patch(self, patch: GroupPatch) -> set[PeerAddress]:
        """Apply `patch` (removed, then added); returns the addresses it may have changed."""
        changed: set[PeerAddress] = set()
        for member in patch.removed:
            old = self.members.pop(member.key, None)
            if old is not None:
                changed.update(self._forget(old))
        for member in patch.added:
            old = self.members.get(member.key)
            if old is not None:
                changed.update(self._forget(old))
            self.members[member.key] = member
            changed.update(self._count(member))
        return changed

    def _count(self, member: GroupMember) -> list[PeerAddress]:
        addresses = self.addresses
        held = []
        for ip in member.ips:
            if len(ip) == 4:
                peer = (int.from_bytes(ip, "big") << 6) | HOST
                addresses[peer] = addresses.get(peer, 0) + 1
                held.append(peer)
        return held

    def _forget(self, member: GroupMember) -> list[PeerAddress]:
        addresses = self.addresses
        held = []
        for ip in member.ips:
            if len(ip) == 4:
                peer = (int.from_bytes(ip, "big") << 6) | HOST
                left = addresses[peer] - 1
                if left:
                    addresses[peer] = left
                else:
                    del addresses[peer]
                held.append(peer)
        return held


class RuleCache:
    """Rules, groups and local pods; `take_dirty()` hands over what changed.

    `on_change` is called (on the event loop) whenever something became dirty.
    """

    def __init__(self, on_change: Callable[[], None] = lambda: None) -> None:
        self._on_change = on_change
        self._policies: dict[str, InternalNetworkPolicy] = {}
        self._policy_rules: dict[str, dict[RuleId, CachedRule]] = {}
        self._rules: dict[RuleId, CachedRule] = {}
        self._address_groups: dict[str, AddressGroupIndex] = {}
        self._applied_to: dict[str, dict[PodKey, GroupMember]] = {}
        self._rules_by_address_group: dict[str, set[RuleId]] = {}
        self._rules_by_applied_to: dict[str, set[RuleId]] = {}
        self._pod_groups: dict[PodKey, set[str]] = {}
        """The AppliedToGroups each local member is in."""
        self._local: dict[PodKey, LocalPod] = {}
        self._fqdn_rules: set[RuleId] = set()
        """Rules with domain-name peers."""
        self._domains: DomainAddresses | None = None
        self._dirty = Dirty()
        self.version = 0
        """Counts the changes: a change with version v is realized once a batch taken at v or later is."""

    # -- PolicyListener --------------------------------------------------------------------------

    def on_replace(self, snapshot: PolicySnapshot, source: StateSource) -> None:
        """Everything anew: every old and new rule is recomputed (unchanged ones change no flow)."""
        dirty = self._dirty
        dirty.rules.update(self._rules)
        dirty.deleted.update(self._policies.keys() - snapshot.policies.keys())
        self._policies = {}
        self._policy_rules = {}
        self._rules = {}
        self._fqdn_rules = set()
        self._rules_by_address_group = {}
        self._rules_by_applied_to = {}
        self._address_groups = {
            name: AddressGroupIndex(group.members) for name, group in snapshot.address_groups.items()
        }
        self._applied_to = {}
        self._pod_groups = {}
        for name, group in snapshot.applied_to_groups.items():
            self._set_applied_to(name, group.members)
        for policy in snapshot.policies.values():
            self._set_policy(policy)
        dirty.rules.update(self._rules)
        self._changed()

    def on_changes(self, changes: Sequence[Change]) -> None:
        for change in changes:
            match change:
                case PolicySet(policy):
                    self._set_policy(policy)
                case PolicyDeleted(name):
                    self._delete_policy(name)
                case AddressGroupSet(group):
                    self._address_groups[group.name] = AddressGroupIndex(group.members)
                    self._dirty.rules.update(self._rules_by_address_group.get(group.name, ()))
                case AddressGroupPatched(name, patch):
                    self._patch_address_group(name, patch)
                case AddressGroupDeleted(name):
                    del self._address_groups[name]
                    self._dirty.rules.update(self._rules_by_address_group.get(name, ()))
                case AppliedToGroupSet(group):
                    self._set_applied_to(group.name, group.members)
                    self._dirty.rules.update(self._rules_by_applied_to.get(group.name, ()))
                case AppliedToGroupDeleted(name):
                    self._set_applied_to(name, None)
                    self._dirty.rules.update(self._rules_by_applied_to.get(name, ()))
        if changes:
            self._changed()

    # -- local pods ------------------------------------------------------------------------------

    def set_local_pod(self, key: PodKey, pod: LocalPod) -> None:
        """A pod was attached on this node (or attached anew)."""
        if self._local.get(key) == pod:
            return
        self._local[key] = pod
        self._pod_changed(key)

    def remove_local_pod(self, key: PodKey, container_id: str) -> None:
        """A pod's container was detached (a newer container of the pod stays)."""
        pod = self._local.get(key)
        if pod is not None and pod.container_id == container_id:
            del self._local[key]
            self._pod_changed(key)

    # -- domain names ----------------------------------------------------------------------------

    def set_domain_addresses(self, source: DomainAddresses) -> None:
        """Where the addresses of domain-name peers come from; their rules are recomputed."""
        self._domains = source
        if self._fqdn_rules:
            self._dirty.rules.update(self._fqdn_rules)
            self._changed()

    def domain_names_changed(self, names: Iterable[str]) -> bool:
        """The addresses of these (normalized) names changed: every rule with a pattern matching
        one of them is recomputed. Returns whether some rule was."""
        names = set(names)
        touched = {
            rule_id
            for rule_id in self._fqdn_rules
            if any(matches(pattern, name) for pattern in self._rules[rule_id].peer.fqdns for name in names)
        }
        if touched:
            self._dirty.rules.update(touched)
            self._changed()
        return bool(touched)

    def domain_addresses_of(self, rule: CachedRule) -> frozenset[PeerAddress]:
        if not rule.peer.fqdns or self._domains is None:
            return frozenset()
        return frozenset(self._domains.addresses(rule.peer.fqdns))

    def dns_pods(self) -> dict[int, int]:
        """Local pods whose DNS answers the agent intercepts: IPv4 address (int) to OpenFlow port."""
        pods: dict[int, int] = {}
        for rule_id in self._fqdn_rules:
            rule = self._rules[rule_id]
            if rule.intercepts_dns and self.realizable(rule):
                pods.update((pod.ip, pod.ofport) for _, pod in self.local_pods_of(rule))
        return pods

    # -- what the reconciler reads ---------------------------------------------------------------

    def take_dirty(self) -> Dirty:
        dirty, self._dirty = self._dirty, Dirty()
        return dirty

    def rule(self, rule_id: RuleId) -> CachedRule | None:
        return self._rules.get(rule_id)

    def rules(self) -> dict[RuleId, CachedRule]:
        return dict(self._rules)

    def policy(self, name: str) -> InternalNetworkPolicy | None:
        return self._policies.get(name)

    def policies(self) -> list[InternalNetworkPolicy]:
        return list(self._policies.values())

    def policy_rules(self, name: str) -> list[CachedRule]:
        return list(self._policy_rules.get(name, {}).values())

    def realizable(self, rule: CachedRule) -> bool:
        """Whether every group the rule names has arrived."""
        return all(name in self._address_groups for name in rule.peer.address_groups) and all(
            name in self._applied_to for name in rule.applied_to_groups
        )

    def address_groups_of(self, rule: CachedRule) -> list[AddressGroupIndex]:
        return [self._address_groups[name] for name in rule.peer.address_groups]

    def local_pods_of(self, rule: CachedRule) -> list[tuple[GroupMember, LocalPod]]:
        """The rule's AppliedToGroup members attached on this node, each once."""
        local = self._local
        found: dict[PodKey, tuple[GroupMember, LocalPod]] = {}
        for name in rule.applied_to_groups:
            for key, member in self._applied_to[name].items():
                pod = local.get(key)
                if pod is not None:
                    found[key] = (member, pod)
        return list(found.values())

    # -- internals -------------------------------------------------------------------------------

    def _changed(self) -> None:
        self.version += 1
        self._on_change()

    def _delete_policy(self, name: str) -> None:
        del self._policies[name]
        for rule in self._policy_rules.pop(name).values():
            self._drop_rule(rule)
        self._dirty.policies.discard(name)
        self._dirty.deleted.add(name)

    def _set_policy(self, policy: InternalNetworkPolicy) -> None:
        old = self._policy_rules.get(policy.name, {})
        new = rules_of(policy)
        for rule_id in old.keys() - new.keys():
            self._drop_rule(old[rule_id])
        for rule_id in new.keys() - old.keys():
            self._add_rule(new[rule_id])
        self._policies[policy.name] = policy
        self._policy_rules[policy.name] = {rule_id: old.get(rule_id, rule) for rule_id, rule in new.items()}
        self._dirty.policies.add(policy.name)
        self._dirty.deleted.discard(policy.name)

    def _add_rule(self, rule: CachedRule) -> None:
        self._rules[rule.id] = rule
        if rule.peer.fqdns:
            self._fqdn_rules.add(rule.id)
        for name in rule.peer.address_groups:
            self._rules_by_address_group.setdefault(name, set()).add(rule.id)
        for name in rule.applied_to_groups:
            self._rules_by_applied_to.setdefault(name, set()).add(rule.id)
        self._dirty.rules.add(rule.id)

    def _drop_rule(self, rule: CachedRule) -> None:
        del self._rules[rule.id]
        self._fqdn_rules.discard(rule.id)
        for index, names in (
            (self._rules_by_address_group, rule.peer.address_groups),
            (self._rules_by_applied_to, rule.applied_to_groups),
        ):
            for name in names:
                users = index[name]
                users.discard(rule.id)
                if not users:
                    del index[name]
        self._dirty.rules.add(rule.id)

    def _patch_address_group(self, name: str, patch: GroupPatch) -> None:
        changed = self._address_groups[name].patch(patch)
        if changed:
            addresses = self._dirty.addresses
            for rule_id in self._rules_by_address_group.get(name, ()):
                addresses.setdefault(rule_id, set()).update(changed)

    def _set_applied_to(self, name: str, members: Iterable[GroupMember] | None) -> None:
        for key in self._applied_to.pop(name, {}):
            groups = self._pod_groups[key]
            groups.discard(name)
            if not groups:
                del self._pod_groups[key]
        if members is None:
            return
        self._applied_to[name] = {member.key: member for member in members}
        for key in self._applied_to[name]:
            self._pod_groups.setdefault(key, set()).add(name)

    def _pod_changed(self, key: PodKey) -> None:
        for name in self._pod_groups.get(key, ()):
            self._dirty.rules.update(self._rules_by_applied_to.get(name, ()))
        self._changed()
