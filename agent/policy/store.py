"""The agent's one policy store: its node's share of the controlplane, by name, and the typed
changes it tells the rule cache.

The controller client writes it (`agent.controller.client`); the rule cache reads what changes
(`agent.policy.cache`), and the saver saves it (`agent.controller.saver`). It is built from a
watch's initial events (ADDED only) or the saved files and handed over whole (`replace`, the
listener's `on_replace`), then kept current with the events that follow (`apply`), each of
which becomes one typed `Change` for the listener's `on_changes`: ADDED sets an object,
MODIFIED replaces a policy or patches a group's members (remove, then add, by member
identity), DELETED removes it. An event that does not fit (a patch or a delete of an object
the store does not hold, an object of the wrong kind, anything but ADDED before the end of the
initial events) raises `StateError`: the agent's copy has diverged, and the client resyncs.
This is the only place that checks events.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Mapping, Sequence
from typing import Protocol

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
    """Told about the store's state on the event loop, in order (the rule cache)."""

    def on_replace(self, snapshot: PolicySnapshot, source: StateSource) -> None:
        """The whole state: forget everything before it."""

    def on_changes(self, changes: Sequence[Change]) -> None:
        """The changes of one stream message, after the last replace."""


class PolicyStore:
    """Policies, AddressGroups and AppliedToGroups by name, changed by watch events into `Change`s."""

    def __init__(self) -> None:
        self._policies: dict[str, InternalNetworkPolicy] = {}
        self._groups: dict[ObjectKind, dict[str, Members]] = {
            ObjectKind.ADDRESS_GROUP: {},
            ObjectKind.APPLIED_TO_GROUP: {},
        }

    @classmethod
    def of(cls, snapshot: PolicySnapshot) -> PolicyStore:
        state = cls()
        state._policies.update(snapshot.policies)
        for kind, groups in (
            (ObjectKind.ADDRESS_GROUP, snapshot.address_groups),
            (ObjectKind.APPLIED_TO_GROUP, snapshot.applied_to_groups),
        ):
            state._groups[kind] = {name: _members(group.members) for name, group in groups.items()}
        return state

    def __len__(self) -> int:
        return len(self._policies) + sum(len(groups) for groups in self._groups.values())

    @property
    def policies(self) -> Mapping[str, InternalNetworkPolicy]:
        return types.MappingProxyType(self._policies)

    def get(self, kind: ObjectKind, name: str) -> StateObject | None:
        """The current object of that kind and name, or None."""
        if kind is ObjectKind.NETWORK_POLICY:
            return self._policies.get(name)
        members = self._groups[kind].get(name)
        if members is None:
            return None
        return _group(kind, name, members)

    def snapshot(self) -> PolicySnapshot:
        address = self._groups[ObjectKind.ADDRESS_GROUP].items()
        applied = self._groups[ObjectKind.APPLIED_TO_GROUP].items()
        return PolicySnapshot(
            types.MappingProxyType(dict(self._policies)),
            types.MappingProxyType({name: AddressGroup(name, tuple(m.values())) for name, m in address}),
            types.MappingProxyType({name: AppliedToGroup(name, tuple(m.values())) for name, m in applied}),
        )

    def apply(self, event: NodeEvent) -> Change:
        """Apply one event and return what it changed; raises `StateError` when it does not fit."""
        kind, name, obj = event.kind, event.name, event.obj
        if kind is ObjectKind.NETWORK_POLICY:
            policies = self._policies
            if event.type is EventType.DELETED:
                if policies.pop(name, None) is None:
                    raise StateError(f"DELETED of unknown NetworkPolicy {name}")
                return PolicyDeleted(name)
            if event.type is EventType.MODIFIED and name not in policies:
                raise StateError(f"MODIFIED of unknown NetworkPolicy {name}")
            if not isinstance(obj, InternalNetworkPolicy):
                raise StateError(f"{event.type.value} NetworkPolicy {name} carries {type(obj).__name__}")
            policies[name] = obj
            return PolicySet(obj)
        groups = self._groups[kind]
        address = kind is ObjectKind.ADDRESS_GROUP
        if event.type is EventType.DELETED:
            if groups.pop(name, None) is None:
                raise StateError(f"DELETED of unknown {kind.value} {name}")
            return AddressGroupDeleted(name) if address else AppliedToGroupDeleted(name)
        if event.type is EventType.ADDED:
            expected = AddressGroup if address else AppliedToGroup
            if not isinstance(obj, expected):
                raise StateError(f"ADDED {kind.value} {name} carries {type(obj).__name__}")
            groups[name] = _members(obj.members)
            return AddressGroupSet(obj) if isinstance(obj, AddressGroup) else AppliedToGroupSet(obj)
        members = groups.get(name)
        if members is None:
            raise StateError(f"patch of unknown {kind.value} {name}")
        if not isinstance(obj, GroupPatch):
            raise StateError(f"MODIFIED {kind.value} {name} carries {type(obj).__name__}")
        for member in obj.removed:
            members.pop(member.key, None)
        for member in obj.added:
            members[member.key] = member
        if address:
            return AddressGroupPatched(name, obj)
        return AppliedToGroupSet(AppliedToGroup(name, tuple(members.values())))


def _members(members: tuple[GroupMember, ...]) -> Members:
    return {member.key: member for member in members}


def _group(kind: ObjectKind, name: str, members: Members) -> AddressGroup | AppliedToGroup:
    if kind is ObjectKind.ADDRESS_GROUP:
        return AddressGroup(name, tuple(members.values()))
    return AppliedToGroup(name, tuple(members.values()))
