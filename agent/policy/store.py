"""The agent's one policy store: its node's share of the controlplane, the rules of its
policies, the indexes between them, and the typed changes it tells its listeners.

The controller client writes it (`agent.controller.client`); the rule cache reads it
(`agent.policy.cache`), and the saver saves it (`agent.controller.saver`). A watch's initial
events (ADDED only, gathered by `InitialEvents`) or the saved files replace its whole state
(`replace`, the listeners' `on_replace`); the events that follow change it one stream message
at a time (`batch`, or `apply`), each event becoming one typed `Change` (ADDED sets an object,
MODIFIED replaces a policy or patches a group's members, remove then add, by member identity;
DELETED removes it), told to the listeners' `on_changes` once per message. An event that does
not fit (a patch or a delete of an object the store does not hold, an object of the wrong kind,
anything but ADDED among the initial events) raises `StateError`: the agent's copy has
diverged, and the client resyncs. This is the only place that checks events.

The store owns what is derived from its objects too: each policy split into content-hashed
rules (`agent.policy.rules`), each AddressGroup's peer addresses (`agent.policy.groups`), the
rules using each group, the AppliedToGroups each pod is in, and the rules with domain names.
With every replace and change it tells its listeners what that means for the rules (a `Dirty`:
the rules to recompute, the peer addresses a patch touched, the policies set and deleted), so a
reader keeps no copy of them.
"""

from __future__ import annotations

import contextlib
import enum
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Protocol

from agent.policy.dirty import Dirty
from agent.policy.groups import AddressGroupIndex
from agent.policy.rules import CachedRule, RuleId, rules_of
from pyantrea_api.events import EventType, NodeEvent, ObjectKind
from pyantrea_api.objects import (
    AddressGroup,
    AppliedToGroup,
    GroupMember,
    GroupPatch,
    InternalNetworkPolicy,
    PodKey,
)
from pyantrea_api.values import value

Members = dict[PodKey, GroupMember]
StateObject = InternalNetworkPolicy | AddressGroup | AppliedToGroup

_CARRIED: dict[ObjectKind, type[StateObject]] = {
    ObjectKind.NETWORK_POLICY: InternalNetworkPolicy,
    ObjectKind.ADDRESS_GROUP: AddressGroup,
    ObjectKind.APPLIED_TO_GROUP: AppliedToGroup,
}
"""What an ADDED event of each kind carries."""


class StateError(Exception):
    """An event does not fit the state it should apply to."""


@value
class PolicySnapshot:
    """The whole state at one moment: read-only mappings of immutable values, by name."""

    policies: Mapping[str, InternalNetworkPolicy]
    address_groups: Mapping[str, AddressGroup]
    applied_to_groups: Mapping[str, AppliedToGroup]
    """With only this node's members."""


class StateSource(enum.Enum):
    """Where the state handed to `on_replace` comes from."""

    CONTROLLER = "controller"
    FILES = "files"


@value
class PolicySet:
    """A policy arrived or changed (ADDED or MODIFIED): the whole policy."""

    policy: InternalNetworkPolicy


@value
class PolicyDeleted:
    name: str


@value
class AddressGroupSet:
    """An AddressGroup arrived: all its members."""

    group: AddressGroup


@value
class AddressGroupPatched:
    """Members left and joined an AddressGroup the store holds."""

    name: str
    patch: GroupPatch


@value
class AddressGroupDeleted:
    name: str


@value
class AppliedToGroupSet:
    """An AppliedToGroup arrived or its members changed: its members (this node's) after the change."""

    group: AppliedToGroup


@value
class AppliedToGroupDeleted:
    name: str


Change = (
    PolicySet
    | PolicyDeleted
    | AddressGroupSet
    | AddressGroupPatched
    | AddressGroupDeleted
    | AppliedToGroupSet
    | AppliedToGroupDeleted
)
"""One event's effect, checked and typed."""


class PolicyListener(Protocol):
    """Told about the store's state on the event loop, in order (the rule cache). `dirty` is what
    the replace or the changes mean for the store's rules; a listener reads it, never changes it."""

    def on_replace(self, snapshot: PolicySnapshot, source: StateSource, dirty: Dirty) -> None:
        """The whole state anew; `dirty` names every rule before and after, every policy, and
        the policies gone."""

    def on_changes(self, changes: Sequence[Change], dirty: Dirty) -> None:
        """The changes of one stream message, after the last replace."""


class InitialEvents:
    """A watch's initial events (ADDED only, each carrying its kind's object), gathered into the
    state they describe."""

    def __init__(self) -> None:
        self._policies: dict[str, InternalNetworkPolicy] = {}
        self._address_groups: dict[str, AddressGroup] = {}
        self._applied_to_groups: dict[str, AppliedToGroup] = {}

    def add(self, event: NodeEvent) -> None:
        if event.type is not EventType.ADDED:
            raise StateError(f"{event.type.value} event among the initial events")
        obj = event.obj
        if isinstance(obj, InternalNetworkPolicy) and event.kind is ObjectKind.NETWORK_POLICY:
            self._policies[event.name] = obj
        elif isinstance(obj, AddressGroup) and event.kind is ObjectKind.ADDRESS_GROUP:
            self._address_groups[event.name] = obj
        elif isinstance(obj, AppliedToGroup) and event.kind is ObjectKind.APPLIED_TO_GROUP:
            self._applied_to_groups[event.name] = obj
        else:
            raise StateError(f"ADDED {event.kind.value} {event.name} carries {type(obj).__name__}")

    def snapshot(self) -> PolicySnapshot:
        return PolicySnapshot(
            types.MappingProxyType(self._policies),
            types.MappingProxyType(self._address_groups),
            types.MappingProxyType(self._applied_to_groups),
        )


class PolicyStore:
    """Policies, AddressGroups and AppliedToGroups by name, their rules and indexes; changed by
    watch events into `Change`s and `Dirty` rules for its listeners."""

    def __init__(self) -> None:
        self._listeners: list[PolicyListener] = []
        self._policies: dict[str, InternalNetworkPolicy] = {}
        self._policy_rules: dict[str, dict[RuleId, CachedRule]] = {}
        self._rules: dict[RuleId, CachedRule] = {}
        self._address_groups: dict[str, AddressGroupIndex] = {}
        self._applied_to: dict[str, Members] = {}
        self._rules_by_address_group: dict[str, set[RuleId]] = {}
        self._rules_by_applied_to: dict[str, set[RuleId]] = {}
        self._pod_groups: dict[PodKey, set[str]] = {}
        """The AppliedToGroups each member is in."""
        self._fqdn_rules: set[RuleId] = set()
        """Rules with domain-name peers."""

    def add_listener(self, listener: PolicyListener) -> None:
        """`listener` is told every replace and change from now on."""
        self._listeners.append(listener)

    # -- reading -----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._policies) + len(self._address_groups) + len(self._applied_to)

    @property
    def policies(self) -> Mapping[str, InternalNetworkPolicy]:
        return types.MappingProxyType(self._policies)

    def policy(self, name: str) -> InternalNetworkPolicy | None:
        return self._policies.get(name)

    def rule(self, rule_id: RuleId) -> CachedRule | None:
        return self._rules.get(rule_id)

    def rules(self) -> Mapping[RuleId, CachedRule]:
        """Every rule of every policy, by id."""
        return types.MappingProxyType(self._rules)

    def policy_rules(self, name: str) -> list[CachedRule]:
        return list(self._policy_rules.get(name, {}).values())

    def realizable(self, rule: CachedRule) -> bool:
        """Whether every group the rule names has arrived."""
        return all(name in self._address_groups for name in rule.peer.address_groups) and all(
            name in self._applied_to for name in rule.applied_to_groups
        )

    def address_groups_of(self, rule: CachedRule) -> list[AddressGroupIndex]:
        """The rule's AddressGroups (it must be realizable)."""
        return [self._address_groups[name] for name in rule.peer.address_groups]

    def applied_to_members(self, name: str) -> Mapping[PodKey, GroupMember]:
        """The members (this node's) of an AppliedToGroup the store holds."""
        return self._applied_to[name]

    def fqdn_rules(self) -> frozenset[RuleId]:
        """The rules with domain-name peers."""
        return frozenset(self._fqdn_rules)

    def rules_applied_to(self, pod: PodKey) -> set[RuleId]:
        """The rules whose AppliedToGroups hold the pod."""
        found: set[RuleId] = set()
        for name in self._pod_groups.get(pod, ()):
            found.update(self._rules_by_applied_to.get(name, ()))
        return found

    def get(self, kind: ObjectKind, name: str) -> StateObject | None:
        """The current object of that kind and name, or None."""
        if kind is ObjectKind.NETWORK_POLICY:
            return self._policies.get(name)
        if kind is ObjectKind.ADDRESS_GROUP:
            group = self._address_groups.get(name)
            return None if group is None else AddressGroup(name, tuple(group.members.values()))
        members = self._applied_to.get(name)
        return None if members is None else AppliedToGroup(name, tuple(members.values()))

    def snapshot(self) -> PolicySnapshot:
        address = self._address_groups.items()
        applied = self._applied_to.items()
        return PolicySnapshot(
            types.MappingProxyType(dict(self._policies)),
            types.MappingProxyType({n: AddressGroup(n, tuple(g.members.values())) for n, g in address}),
            types.MappingProxyType({n: AppliedToGroup(n, tuple(m.values())) for n, m in applied}),
        )

    # -- writing -----------------------------------------------------------------------------------

    def replace(self, snapshot: PolicySnapshot, source: StateSource) -> None:
        """Everything anew (objects not in `snapshot` are gone); the listeners' `on_replace`, whose
        `dirty` holds every rule before and after, the policies set and those gone."""
        dirty = Dirty(rules=set(self._rules), deleted=self._policies.keys() - snapshot.policies.keys())
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
            self._set_policy(policy, dirty)
        for listener in self._listeners:
            listener.on_replace(snapshot, source, dirty)

    @contextlib.contextmanager
    def batch(self) -> Iterator[Callable[[NodeEvent], Change]]:
        """Apply one stream message's events with the function this yields (each returns its
        change); the listeners are told the changes when the block ends, also when an event does
        not fit (`StateError`): what was applied before it, so no listener misses a change."""
        changes: list[Change] = []
        dirty = Dirty()

        def apply(event: NodeEvent) -> Change:
            change = self._apply(event, dirty)
            changes.append(change)
            return change

        try:
            yield apply
        finally:
            if changes:
                for listener in self._listeners:
                    listener.on_changes(changes, dirty)

    def apply(self, events: Iterable[NodeEvent]) -> list[Change]:
        """Apply one stream message's events (`batch`); their changes, in order."""
        with self.batch() as apply:
            return [apply(event) for event in events]

    # -- internals ---------------------------------------------------------------------------------

    def _apply(self, event: NodeEvent, dirty: Dirty) -> Change:
        kind, name, obj = event.kind, event.name, event.obj
        if kind is ObjectKind.NETWORK_POLICY:
            if event.type is EventType.DELETED:
                if name not in self._policies:
                    raise StateError(f"DELETED of unknown NetworkPolicy {name}")
                self._delete_policy(name, dirty)
                return PolicyDeleted(name)
            if event.type is EventType.MODIFIED and name not in self._policies:
                raise StateError(f"MODIFIED of unknown NetworkPolicy {name}")
            if not isinstance(obj, InternalNetworkPolicy):
                raise StateError(f"{event.type.value} NetworkPolicy {name} carries {type(obj).__name__}")
            self._set_policy(obj, dirty)
            return PolicySet(obj)
        address = kind is ObjectKind.ADDRESS_GROUP
        groups: Mapping[str, object] = self._address_groups if address else self._applied_to
        users = self._rules_by_address_group if address else self._rules_by_applied_to
        if event.type is EventType.DELETED:
            if name not in groups:
                raise StateError(f"DELETED of unknown {kind.value} {name}")
            dirty.rules.update(users.get(name, ()))
            if address:
                del self._address_groups[name]
                return AddressGroupDeleted(name)
            self._set_applied_to(name, None)
            return AppliedToGroupDeleted(name)
        if event.type is EventType.ADDED:
            if not isinstance(obj, _CARRIED[kind]):
                raise StateError(f"ADDED {kind.value} {name} carries {type(obj).__name__}")
            dirty.rules.update(users.get(name, ()))
            if isinstance(obj, AddressGroup):
                self._address_groups[name] = AddressGroupIndex(obj.members)
                return AddressGroupSet(obj)
            assert isinstance(obj, AppliedToGroup)
            self._set_applied_to(name, obj.members)
            return AppliedToGroupSet(obj)
        if name not in groups:
            raise StateError(f"patch of unknown {kind.value} {name}")
        if not isinstance(obj, GroupPatch):
            raise StateError(f"MODIFIED {kind.value} {name} carries {type(obj).__name__}")
        if address:
            changed = self._address_groups[name].patch(obj)
            if changed:
                for rule_id in users.get(name, ()):
                    dirty.addresses.setdefault(rule_id, set()).update(changed)
            return AddressGroupPatched(name, obj)
        members = dict(self._applied_to[name])
        for member in obj.removed:
            members.pop(member.key, None)
        for member in obj.added:
            members[member.key] = member
        self._set_applied_to(name, members.values())
        dirty.rules.update(users.get(name, ()))
        return AppliedToGroupSet(AppliedToGroup(name, tuple(members.values())))

    def _set_policy(self, policy: InternalNetworkPolicy, dirty: Dirty) -> None:
        old = self._policy_rules.get(policy.name, {})
        new = rules_of(policy)
        for rule_id in old.keys() - new.keys():
            self._drop_rule(old[rule_id], dirty)
        for rule_id in new.keys() - old.keys():
            self._add_rule(new[rule_id], dirty)
        self._policies[policy.name] = policy
        self._policy_rules[policy.name] = {rule_id: old.get(rule_id, rule) for rule_id, rule in new.items()}
        dirty.policy_set(policy.name)

    def _delete_policy(self, name: str, dirty: Dirty) -> None:
        del self._policies[name]
        for rule in self._policy_rules.pop(name).values():
            self._drop_rule(rule, dirty)
        dirty.policy_deleted(name)

    def _add_rule(self, rule: CachedRule, dirty: Dirty) -> None:
        self._rules[rule.id] = rule
        if rule.peer.fqdns:
            self._fqdn_rules.add(rule.id)
        for name in rule.peer.address_groups:
            self._rules_by_address_group.setdefault(name, set()).add(rule.id)
        for name in rule.applied_to_groups:
            self._rules_by_applied_to.setdefault(name, set()).add(rule.id)
        dirty.rules.add(rule.id)

    def _drop_rule(self, rule: CachedRule, dirty: Dirty) -> None:
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
        dirty.rules.add(rule.id)

    def _set_applied_to(self, name: str, members: Iterable[GroupMember] | None) -> None:
        for key in self._applied_to.pop(name, {}):
            groups = self._pod_groups[key]
            groups.discard(name)
            if not groups:
                del self._pod_groups[key]
        if members is None:
            return
        held = self._applied_to[name] = {member.key: member for member in members}
        for key in held:
            self._pod_groups.setdefault(key, set()).add(name)
