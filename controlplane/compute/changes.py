"""The output changes one engine sync produces, the store's input.

A change carries the object's new span and, for groups, the member patch; the store derives the
previous state itself. An empty `span` with `deleted` False is a live object no node needs.
"""

from __future__ import annotations

from collections.abc import Mapping

from pyantrea_api.objects import GroupMember, InternalNetworkPolicy
from pyantrea_api.values import value

Span = frozenset[str]
"""Names of the nodes that need an object."""

EMPTY_SPAN: Span = frozenset()


MembersByNode = Mapping[str, tuple[GroupMember, ...]]
"""Group members by the name of their node."""


@value
class AddressGroupChange:
    """An AddressGroup was created (all members in `added`), patched or deleted."""

    name: str
    span: Span
    added: tuple[GroupMember, ...]
    removed: tuple[GroupMember, ...]
    deleted: bool


@value
class AppliedToGroupChange:
    """An AppliedToGroup was created (all members in `added`), patched or deleted."""

    name: str
    span: Span
    added: MembersByNode
    removed: MembersByNode
    deleted: bool


@value
class PolicyChange:
    """An internal policy was created or updated (`policy`) or deleted (None), or its span moved."""

    name: str
    policy: InternalNetworkPolicy | None
    span: Span


Change = AddressGroupChange | AppliedToGroupChange | PolicyChange
