"""The agent's copy of its node's share of the controlplane: policies and groups by name.

Built from a watch's initial events (ADDED only), then kept current with the events that follow:
ADDED sets an object, MODIFIED replaces a policy or patches a group's members (remove, then
add, by member identity), DELETED removes it. An event that does not fit (a patch or a delete
of an object the agent does not hold, anything but ADDED before the end of the initial events)
raises `StateError`: the agent's copy has diverged, and the client resyncs.
"""

from __future__ import annotations

import types
from collections.abc import Mapping

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


class PolicyState:
    """Policies, AddressGroups and AppliedToGroups by name, changed by watch events."""

    def __init__(self) -> None:
        self._policies: dict[str, InternalNetworkPolicy] = {}
        self._groups: dict[ObjectKind, dict[str, Members]] = {
            ObjectKind.ADDRESS_GROUP: {},
            ObjectKind.APPLIED_TO_GROUP: {},
        }

    @classmethod
    def of(cls, snapshot: PolicySnapshot) -> PolicyState:
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

    def apply(self, event: NodeEvent) -> None:
        """Apply one event; raises `StateError` when it does not fit."""
        kind, name, obj = event.kind, event.name, event.obj
        if kind is ObjectKind.NETWORK_POLICY:
            policies = self._policies
            if event.type is EventType.DELETED:
                if policies.pop(name, None) is None:
                    raise StateError(f"DELETED of unknown NetworkPolicy {name}")
                return
            if event.type is EventType.MODIFIED and name not in policies:
                raise StateError(f"MODIFIED of unknown NetworkPolicy {name}")
            if not isinstance(obj, InternalNetworkPolicy):
                raise StateError(f"{event.type.value} NetworkPolicy {name} carries {type(obj).__name__}")
            policies[name] = obj
            return
        groups = self._groups[kind]
        if event.type is EventType.DELETED:
            if groups.pop(name, None) is None:
                raise StateError(f"DELETED of unknown {kind.value} {name}")
        elif event.type is EventType.ADDED:
            if not isinstance(obj, AddressGroup | AppliedToGroup):
                raise StateError(f"ADDED {kind.value} {name} carries {type(obj).__name__}")
            groups[name] = _members(obj.members)
        else:
            members = groups.get(name)
            if members is None:
                raise StateError(f"patch of unknown {kind.value} {name}")
            if not isinstance(obj, GroupPatch):
                raise StateError(f"MODIFIED {kind.value} {name} carries {type(obj).__name__}")
            for member in obj.removed:
                members.pop(member.key, None)
            for member in obj.added:
                members[member.key] = member


def _members(members: tuple[GroupMember, ...]) -> Members:
    return {member.key: member for member in members}


def _group(kind: ObjectKind, name: str, members: Members) -> AddressGroup | AppliedToGroup:
    if kind is ObjectKind.ADDRESS_GROUP:
        return AddressGroup(name, tuple(members.values()))
    return AppliedToGroup(name, tuple(members.values()))
