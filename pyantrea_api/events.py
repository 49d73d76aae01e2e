"""The events of the controlplane watch as one agent receives them: what happened (`EventType`)
to which kind of object (`ObjectKind`), with the object, the member patch, or only the name.

The controller's store makes one event per change and derives each node's `NodeEvent` from it
(`controlplane.store.events`); `pyantrea_api.convert` carries them over the wire.
"""

from __future__ import annotations

import enum

from pyantrea_api.objects import AddressGroup, AppliedToGroup, GroupPatch, InternalNetworkPolicy
from pyantrea_api.values import value


class EventType(enum.Enum):
    """What a node is told."""

    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"


class ObjectKind(enum.Enum):
    """The three kinds of objects agents watch."""

    NETWORK_POLICY = "NetworkPolicy"
    ADDRESS_GROUP = "AddressGroup"
    APPLIED_TO_GROUP = "AppliedToGroup"


Payload = InternalNetworkPolicy | AddressGroup | AppliedToGroup | GroupPatch


@value
class NodeEvent:
    """One event as one node's watcher sees it; `obj` is None for DELETED."""

    type: EventType
    kind: ObjectKind
    resource_version: int
    name: str
    obj: Payload | None
