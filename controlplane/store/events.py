"""Store events: one per output change, computed once, then viewed per node.

An event keeps the span before and after the change (shared, interned frozensets, never copied)
and the member patch, so its size follows the change, not the span. A node's view of an event
(`for_node`) follows Antrea's `ToWatchEvent`:

* the node entered the span: ADDED with the whole object (an AppliedToGroup with only the
  node's members); the event carries that object only when some node entered;
* the node stays in the span: MODIFIED with the patch (an AppliedToGroup's patch of the node's
  own members; a NetworkPolicy whole), or nothing if its part did not change;
* the node left the span (or the object was deleted): DELETED with the name.

`views()` yields each distinct view with the nodes that get it, so a server builds (and
serializes) a view once for all its nodes and dispatches it only to the watchers it concerns;
a NetworkPolicy or AddressGroup event has at most three distinct views.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from controlplane.compute.changes import Span
from pyantrea_api.events import EventType, NodeEvent, ObjectKind
from pyantrea_api.objects import AddressGroup, AppliedToGroup, GroupMember, GroupPatch, InternalNetworkPolicy
from pyantrea_api.values import value

View = tuple[NodeEvent, Iterable[str]]
"""One view of an event and the nodes that get it."""


def _entered(prev_span: Span, span: Span) -> Span:
    return span if not prev_span else span - prev_span


def _left(prev_span: Span, span: Span) -> Span:
    return prev_span if not span else prev_span - span


def _stayed(prev_span: Span, span: Span) -> Span:
    return span if prev_span is span else prev_span & span


@value
class PolicyEvent:
    """An internal NetworkPolicy was added, changed, deleted, or its span moved."""

    resource_version: int
    name: str
    prev_span: Span
    span: Span
    policy: InternalNetworkPolicy | None
    """The policy after the change; None once deleted."""
    modified: bool
    """Whether the policy itself changed (nodes that stay get it again only then)."""

    kind = ObjectKind.NETWORK_POLICY

    def views(self) -> Iterator[View]:
        """Each distinct non-empty view of this event, with the nodes that get it."""
        prev, span = self.prev_span, self.span
        if prev is not span:
            if entered := _entered(prev, span):
                yield (
                    NodeEvent(EventType.ADDED, self.kind, self.resource_version, self.name, self.policy),
                    entered,
                )
            if left := _left(prev, span):
                yield NodeEvent(EventType.DELETED, self.kind, self.resource_version, self.name, None), left
        if self.modified and self.policy is not None and (stayed := _stayed(prev, span)):
            yield (
                NodeEvent(EventType.MODIFIED, self.kind, self.resource_version, self.name, self.policy),
                stayed,
            )

    def for_node(self, node: str) -> NodeEvent | None:
        """This event as `node` sees it, or None if it does not concern the node."""
        was, now = node in self.prev_span, node in self.span
        if now and (not was or self.modified):
            kind = EventType.MODIFIED if was else EventType.ADDED
            return NodeEvent(kind, self.kind, self.resource_version, self.name, self.policy)
        if was and not now:
            return NodeEvent(EventType.DELETED, self.kind, self.resource_version, self.name, None)
        return None


@value
class AddressGroupEvent:
    """An AddressGroup was added, patched, deleted, or its span moved."""

    resource_version: int
    name: str
    prev_span: Span
    span: Span
    added: tuple[GroupMember, ...]
    removed: tuple[GroupMember, ...]
    group: AddressGroup | None
    """The whole group after the change, kept only when some node entered the span."""

    kind = ObjectKind.ADDRESS_GROUP

    def views(self) -> Iterator[View]:
        """Each distinct non-empty view of this event, with the nodes that get it."""
        prev, span = self.prev_span, self.span
        if prev is not span:
            if entered := _entered(prev, span):
                yield (
                    NodeEvent(EventType.ADDED, self.kind, self.resource_version, self.name, self.group),
                    entered,
                )
            if left := _left(prev, span):
                yield NodeEvent(EventType.DELETED, self.kind, self.resource_version, self.name, None), left
        if (self.added or self.removed) and (stayed := _stayed(prev, span)):
            patch = GroupPatch(self.name, self.added, self.removed)
            yield NodeEvent(EventType.MODIFIED, self.kind, self.resource_version, self.name, patch), stayed

    def for_node(self, node: str) -> NodeEvent | None:
        """This event as `node` sees it, or None if it does not concern the node."""
        was, now = node in self.prev_span, node in self.span
        if now and not was:
            return NodeEvent(EventType.ADDED, self.kind, self.resource_version, self.name, self.group)
        if was and not now:
            return NodeEvent(EventType.DELETED, self.kind, self.resource_version, self.name, None)
        if now and (self.added or self.removed):
            patch = GroupPatch(self.name, self.added, self.removed)
            return NodeEvent(EventType.MODIFIED, self.kind, self.resource_version, self.name, patch)
        return None


@value
class AppliedToGroupEvent:
    """An AppliedToGroup was added, patched, deleted, or its span moved; patches are per node."""

    resource_version: int
    name: str
    prev_span: Span
    span: Span
    added: Mapping[str, tuple[GroupMember, ...]]
    """Members gained, by node."""
    removed: Mapping[str, tuple[GroupMember, ...]]
    """Members lost, by node."""
    entered: Mapping[str, tuple[GroupMember, ...]]
    """For each node that entered the span, all its members after the change."""

    kind = ObjectKind.APPLIED_TO_GROUP

    def views(self) -> Iterator[View]:
        """Each distinct non-empty view of this event, with the node that gets it (one each,
        since a node sees only its own members)."""
        prev, span = self.prev_span, self.span
        rv, name = self.resource_version, self.name
        for node, members in self.entered.items():
            yield NodeEvent(EventType.ADDED, self.kind, rv, name, AppliedToGroup(name, members)), (node,)
        if prev is not span and (left := _left(prev, span)):
            yield NodeEvent(EventType.DELETED, self.kind, rv, name, None), left
        added, removed = self.added, self.removed
        for node in added.keys() | removed.keys() if removed else added:
            if node in prev and node in span:
                patch = GroupPatch(name, added.get(node, ()), removed.get(node, ()))
                yield NodeEvent(EventType.MODIFIED, self.kind, rv, name, patch), (node,)

    def for_node(self, node: str) -> NodeEvent | None:
        """This event as `node` sees it, or None if it does not concern the node."""
        was, now = node in self.prev_span, node in self.span
        if now and not was:
            group = AppliedToGroup(self.name, self.entered[node])
            return NodeEvent(EventType.ADDED, self.kind, self.resource_version, self.name, group)
        if was and not now:
            return NodeEvent(EventType.DELETED, self.kind, self.resource_version, self.name, None)
        if now:
            added, removed = self.added.get(node, ()), self.removed.get(node, ())
            if added or removed:
                patch = GroupPatch(self.name, added, removed)
                return NodeEvent(EventType.MODIFIED, self.kind, self.resource_version, self.name, patch)
        return None


StoreEvent = PolicyEvent | AddressGroupEvent | AppliedToGroupEvent
