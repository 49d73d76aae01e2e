"""Encoding what watchers get, once: node views of store events, and snapshot objects.

A store event has a few distinct views (`StoreEvent.views()`); each is encoded once, for all
its nodes. Snapshots of different nodes share their NetworkPolicies and AddressGroups (the same
objects), so their initial ADDED events are encoded once and kept until the object changes;
AppliedToGroups differ per node (only the node's members) and are encoded per snapshot.
"""

from __future__ import annotations

from controlplane.server.framing import chunk
from controlplane.store.versioned import Snapshot
from pyantrea_api.convert import event_to_proto, initial_events_end
from pyantrea_api.events import EventType, NodeEvent, ObjectKind
from pyantrea_api.objects import AddressGroup, AppliedToGroup, InternalNetworkPolicy

_INITIAL_VERSION = 0
"""Initial events carry no version of their own; INITIAL_EVENTS_END carries the snapshot's."""


class EventEncoder:
    """Framed event bytes (`framing.chunk`), each computed once."""

    def __init__(self) -> None:
        self._initial: dict[tuple[ObjectKind, str], tuple[object, bytes]] = {}

    def view(self, view: NodeEvent) -> bytes:
        """One view of a live event."""
        return chunk(event_to_proto(view))

    def initial(self, snapshot: Snapshot) -> list[bytes]:
        """A watch's initial events: groups, then the policies that name them, then the marker."""
        chunks = [self._shared(ObjectKind.ADDRESS_GROUP, group) for group in snapshot.address_groups]
        chunks.extend(self._applied_to(group) for group in snapshot.applied_to_groups)
        chunks.extend(self._shared(ObjectKind.NETWORK_POLICY, policy) for policy in snapshot.policies)
        chunks.append(chunk(initial_events_end(snapshot.resource_version)))
        return chunks

    def forget(self, kind: ObjectKind, name: str) -> None:
        """The object changed or went away: drop its initial event."""
        self._initial.pop((kind, name), None)

    @property
    def cached(self) -> int:
        """How many initial events are kept."""
        return len(self._initial)

    def _shared(self, kind: ObjectKind, obj: InternalNetworkPolicy | AddressGroup) -> bytes:
        key = (kind, obj.name)
        cached = self._initial.get(key)
        if cached is not None and cached[0] is obj:
            return cached[1]
        data = chunk(event_to_proto(NodeEvent(EventType.ADDED, kind, _INITIAL_VERSION, obj.name, obj)))
        self._initial[key] = (obj, data)
        return data

    def _applied_to(self, group: AppliedToGroup) -> bytes:
        view = NodeEvent(EventType.ADDED, ObjectKind.APPLIED_TO_GROUP, _INITIAL_VERSION, group.name, group)
        return chunk(event_to_proto(view))
