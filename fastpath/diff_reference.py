"""The plain-Python specification of the flow diff engine (`fastpath._diff.diff_flows`).

Written for clarity, not speed: the Cython engine must return exactly what this returns, and
a property test holds it to that.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastpath._diff import DuplicateFlowError, DuplicateGroupError
from fastpath._flow import Flow
from fastpath._group import Group


def diff_flows_reference(
    desired: Iterable[Flow], installed: Iterable[Flow]
) -> tuple[list[Flow], list[Flow], list[Flow]]:
    """(adds, modifies, deletes) in input order; see `fastpath.diff_flows`."""
    installed = list(installed)
    installed_by_key: dict[tuple, Flow] = {}
    for flow in installed:
        if flow.key in installed_by_key:
            raise DuplicateFlowError(f"installed flows share an identity: {flow}")
        installed_by_key[flow.key] = flow
    seen: set[tuple] = set()
    adds: list[Flow] = []
    modifies: list[Flow] = []
    for flow in desired:
        if flow.key in seen:
            raise DuplicateFlowError(f"desired flows share an identity: {flow}")
        seen.add(flow.key)
        old = installed_by_key.get(flow.key)
        if old is None:
            adds.append(flow)
        elif old.cookie != flow.cookie or old.actions != flow.actions:
            modifies.append(flow)
    deletes = [flow for flow in installed if flow.key not in seen]
    return adds, modifies, deletes


def diff_groups_reference(
    desired: Iterable[Group], installed: Iterable[Group]
) -> tuple[list[Group], list[Group], list[Group]]:
    """(adds, modifies, deletes) in input order; see `fastpath.diff_groups`."""
    installed = list(installed)
    by_id: dict[int, Group] = {}
    for group in installed:
        if group.group_id in by_id:
            raise DuplicateGroupError(f"installed groups share id {group.group_id}")
        by_id[group.group_id] = group
    seen: set[int] = set()
    adds: list[Group] = []
    modifies: list[Group] = []
    for group in desired:
        if group.group_id in seen:
            raise DuplicateGroupError(f"desired groups share id {group.group_id}")
        seen.add(group.group_id)
        old = by_id.get(group.group_id)
        if old is None:
            adds.append(group)
        elif _content(old) != _content(group):
            modifies.append(group)
    deletes = [group for group in installed if group.group_id not in seen]
    return adds, modifies, deletes


def _content(group: Group) -> tuple[object, ...]:
    """What the switch holds of a group: weights only count in select groups."""
    weighted = group.type == "select"
    buckets = tuple((b.actions, b.bucket_id, b.weight if weighted else None) for b in group.buckets)
    return group.type, group.selection_method, group.fields, buckets
