"""The versioned store: engine changes in, events with monotonic resource versions out.

The store keeps the current objects with their spans, numbers every change, and hands each
batch of events to its subscribers. A watcher for a node takes `snapshot(node)` and subscribes
in the same step (nothing runs in between on one event loop), then sends each later event's
`for_node(node)` view; every reconnect starts again from a snapshot, as in Antrea.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from controlplane.compute.changes import (
    EMPTY_SPAN,
    AddressGroupChange,
    AppliedToGroupChange,
    Change,
    MembersByNode,
    PolicyChange,
    Span,
)
from controlplane.store.events import AddressGroupEvent, AppliedToGroupEvent, PolicyEvent, StoreEvent
from controlplane.store.spanindex import SpanIndex
from pyantrea_api.objects import AddressGroup, AppliedToGroup, GroupMember, InternalNetworkPolicy, PodKey
from pyantrea_api.values import value

Listener = Callable[[Sequence[StoreEvent]], None]


@value
class Snapshot:
    """Everything one node needs at one resource version."""

    resource_version: int
    policies: tuple[InternalNetworkPolicy, ...]
    address_groups: tuple[AddressGroup, ...]
    applied_to_groups: tuple[AppliedToGroup, ...]
    """Each with only the node's members."""


class _Policy:
    __slots__ = ("policy", "span")

    def __init__(self, policy: InternalNetworkPolicy) -> None:
        self.policy = policy
        self.span: Span = EMPTY_SPAN


class _AddressGroup:
    """Members are kept as the group that created them until the first patch needs a dict."""

    __slots__ = ("members", "span", "whole")

    def __init__(self, whole: AddressGroup) -> None:
        self.members: dict[PodKey, GroupMember] | None = None
        self.span: Span = EMPTY_SPAN
        self.whole: AddressGroup | None = whole
        """The materialized group, while it is current."""

    def patch(self, added: Iterable[GroupMember], removed: Iterable[GroupMember]) -> None:
        members = self.current()
        self.whole = None
        for member in removed:
            del members[member.namespace, member.name]
        for member in added:
            members[member.namespace, member.name] = member

    def current(self) -> dict[PodKey, GroupMember]:
        """Members by pod (made from the group once; patches keep it)."""
        members = self.members
        if members is None:
            assert self.whole is not None
            members = self.members = {(m.namespace, m.name): m for m in self.whole.members}
        return members

    def materialize(self, name: str) -> AddressGroup:
        if self.whole is None:
            assert self.members is not None
            self.whole = AddressGroup(name, tuple(self.members.values()))
        return self.whole


NodeMembers = tuple[GroupMember, ...] | dict[PodKey, GroupMember]
"""One node's members of an AppliedToGroup: as created (a tuple) or, once patched, a dict."""


class _AppliedToGroup:
    __slots__ = ("by_node", "span")

    def __init__(self, by_node: dict[str, NodeMembers]) -> None:
        self.by_node = by_node
        self.span: Span = EMPTY_SPAN

    def on(self, node: str) -> tuple[GroupMember, ...]:
        members = self.by_node[node]
        return members if isinstance(members, tuple) else tuple(members.values())

    def patch(self, added: MembersByNode, removed: MembersByNode) -> None:
        by_node = self.by_node
        for node, members in removed.items():
            node_members = self._editable(node)
            for member in members:
                del node_members[member.namespace, member.name]
            if not node_members:
                del by_node[node]
        for node, members in added.items():
            if node not in by_node:
                by_node[node] = members
                continue
            node_members = self._editable(node)
            for member in members:
                node_members[member.namespace, member.name] = member

    def _editable(self, node: str) -> dict[PodKey, GroupMember]:
        members = self.by_node[node]
        if isinstance(members, tuple):
            members = self.by_node[node] = {(m.namespace, m.name): m for m in members}
        return members


class Store:
    """Current NetworkPolicies, AddressGroups and AppliedToGroups, with versioned events."""

    def __init__(self) -> None:
        self._version = 0
        self._policies: dict[str, _Policy] = {}
        self._address_groups: dict[str, _AddressGroup] = {}
        self._applied_to_groups: dict[str, _AppliedToGroup] = {}
        self._policy_index = SpanIndex()
        self._address_group_index = SpanIndex()
        self._applied_to_index = SpanIndex()
        self._listeners: list[Listener] = []

    @property
    def resource_version(self) -> int:
        """The version of the last change (0 before any)."""
        return self._version

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Calls `listener` with every later batch of events; returns the unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def apply(self, changes: Iterable[Change]) -> list[StoreEvent]:
        """Records the changes of one engine sync, in order; returns and publishes their events."""
        events: list[StoreEvent] = []
        for change in changes:
            self._version += 1
            if isinstance(change, PolicyChange):
                events.append(self._apply_policy(change))
            elif isinstance(change, AddressGroupChange):
                events.append(self._apply_address_group(change))
            else:
                events.append(self._apply_applied_to_group(change))
        if events:
            for listener in tuple(self._listeners):
                listener(events)
        return events

    def sync_address_group(self, group: AddressGroup, span: Span) -> list[StoreEvent]:
        """A whole AddressGroup as recomputed (`PolicyEngine.full_address_group`): the difference
        to the group held, as one event, or none if they agree (Antrea's store `Update`)."""
        entry = self._address_groups.get(group.name)
        if entry is None:
            return self.apply([AddressGroupChange(group.name, span, group.members, (), False)])
        held = entry.current()
        members = {(m.namespace, m.name): m for m in group.members}
        added = []
        removed = []
        for key, member in members.items():
            old = held.get(key)
            if old is not member and old != member:
                added.append(member)
                if old is not None:
                    removed.append(old)
        if len(members) - len(added) + len(removed) != len(held):
            removed.extend(m for key, m in held.items() if key not in members)
        if not added and not removed and (span is entry.span or span == entry.span):
            return []
        return self.apply([AddressGroupChange(group.name, span, tuple(added), tuple(removed), False)])

    def snapshot(self, node: str) -> Snapshot:
        """Every object whose span holds `node`, at the current resource version."""
        policies = tuple(self._policies[name].policy for name in self._policy_index.names_for(node))
        groups = tuple(
            self._address_groups[name].materialize(name) for name in self._address_group_index.names_for(node)
        )
        applied = tuple(
            AppliedToGroup(name, self._applied_to_groups[name].on(node))
            for name in self._applied_to_index.names_for(node)
        )
        return Snapshot(self._version, policies, groups, applied)

    def policies(self) -> dict[str, tuple[InternalNetworkPolicy, Span]]:
        """Every internal policy with its span, by name."""
        return {name: (entry.policy, entry.span) for name, entry in self._policies.items()}

    def address_groups(self) -> dict[str, tuple[frozenset[GroupMember], Span]]:
        """Every AddressGroup's members and span, by name."""
        return {
            name: (frozenset(entry.materialize(name).members), entry.span)
            for name, entry in self._address_groups.items()
        }

    def applied_to_groups(self) -> dict[str, tuple[frozenset[GroupMember], Span]]:
        """Every AppliedToGroup's members (of all nodes) and span, by name."""
        return {
            name: (frozenset(m for node in entry.by_node for m in entry.on(node)), entry.span)
            for name, entry in self._applied_to_groups.items()
        }

    def _apply_policy(self, change: PolicyChange) -> PolicyEvent:
        name = change.name
        entry = self._policies.get(name)
        if change.policy is None:
            assert entry is not None, f"delete of unknown policy {name}"
            del self._policies[name]
            self._policy_index.move(name, entry.span, EMPTY_SPAN)
            return PolicyEvent(self._version, name, entry.span, EMPTY_SPAN, None, True)
        if entry is None:
            entry = self._policies[name] = _Policy(change.policy)
            modified = True
        else:
            modified = entry.policy is not change.policy and entry.policy != change.policy
            entry.policy = change.policy
        prev = entry.span
        if change.span is not prev and change.span != prev:
            entry.span = self._policy_index.move(name, prev, change.span)
        return PolicyEvent(self._version, name, prev, entry.span, change.policy, modified)

    def _apply_address_group(self, change: AddressGroupChange) -> AddressGroupEvent:
        name = change.name
        entry = self._address_groups.get(name)
        if change.deleted:
            assert entry is not None, f"delete of unknown address group {name}"
            del self._address_groups[name]
            self._address_group_index.move(name, entry.span, EMPTY_SPAN)
            return AddressGroupEvent(self._version, name, entry.span, EMPTY_SPAN, (), (), None)
        if entry is None:
            entry = self._address_groups[name] = _AddressGroup(AddressGroup(name, change.added))
        elif change.added or change.removed:
            entry.patch(change.added, change.removed)
        prev = entry.span
        if change.span is not prev and change.span != prev:
            entry.span = self._address_group_index.move(name, prev, change.span)
        entered = entry.span is not prev and not entry.span <= prev
        whole = entry.materialize(name) if entered else None
        return AddressGroupEvent(self._version, name, prev, entry.span, change.added, change.removed, whole)

    def _apply_applied_to_group(self, change: AppliedToGroupChange) -> AppliedToGroupEvent:
        name = change.name
        entry = self._applied_to_groups.get(name)
        if change.deleted:
            assert entry is not None, f"delete of unknown applied-to group {name}"
            del self._applied_to_groups[name]
            self._applied_to_index.move(name, entry.span, EMPTY_SPAN)
            return AppliedToGroupEvent(self._version, name, entry.span, EMPTY_SPAN, {}, {}, {})
        created = entry is None
        if entry is None:
            entry = self._applied_to_groups[name] = _AppliedToGroup(dict(change.added))
        else:
            entry.patch(change.added, change.removed)
        prev = entry.span
        if change.span is not prev and change.span != prev:
            entry.span = self._applied_to_index.move(name, prev, change.span)
        span = entry.span
        entered: dict[str, tuple[GroupMember, ...]] = {}
        if span is not prev:
            if created:
                # All of a new group's members are in the patch, already by node.
                entered = {node: change.added[node] for node in span}
            else:
                for node in span - prev if prev else span:
                    entered[node] = entry.on(node)
        return AppliedToGroupEvent(self._version, name, prev, span, change.added, change.removed, entered)
