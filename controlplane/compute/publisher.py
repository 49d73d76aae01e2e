"""The output side of the engine: what is published, and the minimal changes to it.

From the membership patches of the grouping index, the current member values, the policies that
changed and the nodes that came and went, `Publisher.publish` works out the output changes:

    member patches ──▶ AppliedToGroup members by node ──▶ span (nodes hosting members, that exist)
                                                            │ shared by its policies
                                                            ▼
                        AddressGroup span = union of the spans of the policies that use it

A Kubernetes NetworkPolicy has exactly one AppliedToGroup, so a policy's span *is* that group's
span (the same frozenset). An AddressGroup's span is kept as a count per node over the distinct
AppliedToGroups linked to it through policies, so a policy or span change costs the size of the
span delta, not the number of policies.

`full_address_group` recomputes one AddressGroup from scratch instead (Antrea's
`syncAddressGroup`): all its members, and its span as the union of the spans of the
AppliedToGroups linked to it. Between syncs it must agree with what the patches built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Set

from controlplane.compute.changes import (
    EMPTY_SPAN,
    AddressGroupChange,
    AppliedToGroupChange,
    Change,
    MembersByNode,
    PolicyChange,
    Span,
)
from controlplane.compute.grouping import GroupingChanges, SelectorGroup
from pyantrea_api.objects import AddressGroup, GroupMember, InternalNetworkPolicy, PodKey
from pyantrea_api.values import value


@value
class ActivePolicy:
    """A valid policy as the engine holds it: its internal form and the groups it uses."""

    policy: InternalNetworkPolicy
    applied_to: SelectorGroup
    address_groups: tuple[SelectorGroup, ...]


@value
class Pending:
    """What changed on the input side since the last `publish`."""

    grouping: GroupingChanges
    groups_of: Callable[[PodKey], Iterable[SelectorGroup]]
    """The groups a pod is a member of now."""
    members: Mapping[PodKey, GroupMember]
    """Every member-eligible pod's member value now."""
    baseline: Mapping[PodKey, GroupMember | None]
    """Each pod touched since the last publish, with its member value then."""
    policies: Mapping[str, ActivePolicy]
    """Every valid policy now, by UID."""
    dirty_policies: Set[str]
    """UIDs of the policies added, changed or removed."""


class _AppliedToGroup:
    """An AppliedToGroup as published: members per node, span, the policies that use it."""

    __slots__ = ("fresh", "group", "links", "name", "nodes", "policies", "published", "span")

    def __init__(self, group: SelectorGroup) -> None:
        self.group = group
        self.name = group.selector.name
        self.nodes: dict[str, int] = {}
        self.span: Span = EMPTY_SPAN
        self.policies: set[str] = set()
        self.links: dict[_AddressGroup, int] = {}
        """AddressGroups used by this group's policies, with how many policies use each."""
        self.fresh = True
        self.published = False


class _AddressGroup:
    """An AddressGroup as published: for each node, how many linked AppliedToGroups span it."""

    __slots__ = ("atgs", "fresh", "group", "name", "node_counts", "published", "span", "users")

    def __init__(self, group: SelectorGroup) -> None:
        self.group = group
        self.name = group.selector.name
        self.atgs: set[_AppliedToGroup] = set()
        """The AppliedToGroups linked to this group (the reverse of their `links`)."""
        self.node_counts: dict[str, int] = {}
        self.span: Span = EMPTY_SPAN
        self.users = 0
        self.fresh = True
        self.published = False


class _Published:
    """A policy as of the last sync."""

    __slots__ = ("address_groups", "applied_to", "policy", "span")

    def __init__(
        self,
        policy: InternalNetworkPolicy,
        applied_to: _AppliedToGroup,
        address_groups: tuple[_AddressGroup, ...],
        span: Span,
    ) -> None:
        self.policy = policy
        self.applied_to = applied_to
        self.address_groups = address_groups
        self.span = span


class Publisher:
    """The published AppliedToGroups, AddressGroups and policies, with their spans."""

    def __init__(self) -> None:
        self._nodes: set[str] = set()
        self._dirty_nodes: set[str] = set()
        self._published: dict[str, _Published] = {}
        self._applied_to_groups: dict[str, _AppliedToGroup] = {}
        self._address_groups: dict[str, _AddressGroup] = {}
        self._address_groups_by_name: dict[str, _AddressGroup] = {}

    def set_node(self, name: str, exists: bool) -> None:
        """A Node appeared or disappeared; spans follow at the next `publish`."""
        if (name in self._nodes) != exists:
            if exists:
                self._nodes.add(name)
            else:
                self._nodes.discard(name)
            self._dirty_nodes.add(name)

    def publish(self, pending: Pending) -> list[Change]:
        """The output changes for `pending`, additions before the deletions they allow."""
        return _Run(self, pending).run()

    def full_address_group(
        self, name: str, members: Mapping[PodKey, GroupMember]
    ) -> tuple[AddressGroup, Span] | None:
        """The published AddressGroup `name` recomputed from scratch (None if not published):
        every member's value from `members`, and the union of its linked AppliedToGroups' spans."""
        ag = self._address_groups_by_name.get(name)
        if ag is None or not ag.published:
            return None
        group = AddressGroup(name, tuple([members[pod] for pod in ag.group.members]))
        spans = [atg.span for atg in ag.atgs]
        span = spans[0] if len(spans) == 1 else EMPTY_SPAN.union(*spans)
        return group, span


class _Run:
    """One `publish`; a separate object so each step is a small method."""

    def __init__(self, publisher: Publisher, pending: Pending) -> None:
        self.publisher = publisher
        self.pending = pending
        self.touched_atgs: set[_AppliedToGroup] = set()
        self.touched_ags: set[_AddressGroup] = set()
        self.dead_atgs: list[_AppliedToGroup] = []
        self.dead_ags: list[_AddressGroup] = []
        self.patches: dict[_AppliedToGroup | _AddressGroup, tuple[list[GroupMember], list[GroupMember]]] = {}
        self.node_patches: dict[_AppliedToGroup, tuple[MembersByNode, MembersByNode]] = {}
        self.atg_spans: set[_AppliedToGroup] = set()
        """AppliedToGroups whose span changed."""
        self.ag_spans: set[_AddressGroup] = set()
        """AddressGroups whose set of spanned nodes may have changed."""

    def run(self) -> list[Change]:
        dirty = self.pending.dirty_policies
        linking = self._unpublish(dirty)
        self._member_patches()
        self._applied_to_spans()
        for uid, atg, ags in linking:
            atg.policies.add(uid)
            for ag in ags:
                self._link(atg, ag)
        changes: list[Change] = []
        for ag in self.touched_ags:
            self._address_group_change(ag, changes)
        for atg in self.touched_atgs:
            self._applied_to_group_change(atg, changes)
        self._policy_changes(dirty, linking, changes)
        for atg in self.dead_atgs:
            if atg.published:
                changes.append(AppliedToGroupChange(atg.name, EMPTY_SPAN, {}, {}, True))
        for ag in self.dead_ags:
            if ag.published:
                changes.append(AddressGroupChange(ag.name, EMPTY_SPAN, (), (), True))
        return changes

    def _unpublish(self, dirty: Set[str]) -> list[tuple[str, _AppliedToGroup, tuple[_AddressGroup, ...]]]:
        """Unlinks the published form of each dirty policy; returns the links to make anew."""
        published = self.publisher._published
        policies = self.pending.policies
        linking = []
        for uid in dirty:
            old = published.get(uid)
            if old is not None:
                old.applied_to.policies.discard(uid)
                for ag in old.address_groups:
                    self._unlink(old.applied_to, ag)
                    self._drop_address_group_user(ag)
                if not old.applied_to.policies:
                    self.touched_atgs.add(old.applied_to)
            entry = policies.get(uid)
            if entry is not None:
                atg = self._applied_to_state(entry.applied_to)
                ags = tuple([self._address_group_state(group) for group in entry.address_groups])
                linking.append((uid, atg, ags))
        return linking

    def _applied_to_state(self, group: SelectorGroup) -> _AppliedToGroup:
        states = self.publisher._applied_to_groups
        state = states.get(group.selector.normalized)
        if state is None:
            state = states[group.selector.normalized] = _AppliedToGroup(group)
            self.touched_atgs.add(state)
        return state

    def _address_group_state(self, group: SelectorGroup) -> _AddressGroup:
        states = self.publisher._address_groups
        state = states.get(group.selector.normalized)
        if state is None:
            state = states[group.selector.normalized] = _AddressGroup(group)
            self.publisher._address_groups_by_name[state.name] = state
            self.touched_ags.add(state)
        state.users += 1
        return state

    def _drop_address_group_user(self, ag: _AddressGroup) -> None:
        ag.users -= 1
        if ag.users == 0:
            self.touched_ags.add(ag)

    def _member_patches(self) -> None:
        """Member values gained and lost by every published group whose members changed."""
        pending = self.pending
        members = pending.members
        baseline = pending.baseline
        atgs = self.publisher._applied_to_groups
        ags = self.publisher._address_groups
        by_group: dict[SelectorGroup, tuple[list[GroupMember], list[GroupMember]]] = {}
        for patch in pending.grouping.patched:
            by_group[patch.group] = (
                [members[pod] for pod in patch.added],
                [baseline.get(pod) or members[pod] for pod in patch.removed],
            )
        for pod, old in baseline.items():
            if old is None:
                continue
            new = members.get(pod)
            if new is None:
                continue
            for group in pending.groups_of(pod):
                patch = by_group.get(group)
                if patch is None:
                    patch = by_group[group] = ([], [])
                elif new in patch[0]:
                    continue
                patch[0].append(new)
                patch[1].append(old)
        for group, patch in by_group.items():
            normalized = group.selector.normalized
            for state in (atgs.get(normalized), ags.get(normalized)):
                if state is not None and not state.fresh:
                    self.patches[state] = patch
                    if isinstance(state, _AppliedToGroup):
                        self.touched_atgs.add(state)
                    else:
                        self.touched_ags.add(state)
        # A new group's patch is all its members (computed once when both kinds are new).
        whole: dict[SelectorGroup, tuple[list[GroupMember], list[GroupMember]]] = {}
        for state in (*self.touched_atgs, *self.touched_ags):
            if state.fresh:
                patch = whole.get(state.group)
                if patch is None:
                    patch = whole[state.group] = ([members[pod] for pod in state.group.members], [])
                self.patches[state] = patch

    def _applied_to_spans(self) -> None:
        """New spans of AppliedToGroups (into `atg_spans`), moved into their AddressGroups."""
        publisher = self.publisher
        recount = set()
        for atg in self.touched_atgs:
            patch = self.patches.get(atg)
            if patch is None:
                continue
            added = _by_node(patch[0])
            removed = _by_node(patch[1]) if patch[1] else {}
            self.node_patches[atg] = (added, removed)
            counts = atg.nodes
            if atg.fresh:
                atg.nodes = {node: len(members) for node, members in added.items()}
                recount.add(atg)
                continue
            for node, members in removed.items():
                count = counts[node] - len(members)
                if count:
                    counts[node] = count
                else:
                    del counts[node]
                    recount.add(atg)
            for node, members in added.items():
                count = counts.get(node, 0)
                counts[node] = count + len(members)
                if not count:
                    recount.add(atg)
        dirty_nodes = publisher._dirty_nodes
        if dirty_nodes:
            publisher._dirty_nodes = set()
            for atg in publisher._applied_to_groups.values():
                if not atg.nodes.keys().isdisjoint(dirty_nodes):
                    recount.add(atg)
                    self.touched_atgs.add(atg)
        nodes = publisher._nodes
        for atg in recount:
            span = frozenset(atg.nodes)
            if not nodes.issuperset(span):
                span = span.intersection(nodes)
            if span != atg.span:
                old = atg.span
                atg.span = span
                self.atg_spans.add(atg)
                for ag in atg.links:
                    self._move_span(ag, old, span)

    def _link(self, atg: _AppliedToGroup, ag: _AddressGroup) -> None:
        count = atg.links.get(ag, 0)
        atg.links[ag] = count + 1
        if not count:
            ag.atgs.add(atg)
            self._move_span(ag, EMPTY_SPAN, atg.span)

    def _unlink(self, atg: _AppliedToGroup, ag: _AddressGroup) -> None:
        count = atg.links[ag] - 1
        if count:
            atg.links[ag] = count
            return
        del atg.links[ag]
        ag.atgs.discard(atg)
        self._move_span(ag, atg.span, EMPTY_SPAN)

    def _move_span(self, ag: _AddressGroup, old: Span, new: Span) -> None:
        """One linked AppliedToGroup's span moved from `old` to `new`."""
        counts = ag.node_counts
        nodes_changed = False
        for node in (old - new if new else old) if old else ():
            count = counts[node] - 1
            if count:
                counts[node] = count
            else:
                del counts[node]
                nodes_changed = True
        for node in new - old if old else new:
            count = counts.get(node, 0)
            counts[node] = count + 1
            if not count:
                nodes_changed = True
        if nodes_changed:
            self.touched_ags.add(ag)
            self.ag_spans.add(ag)

    def _address_group_change(self, ag: _AddressGroup, changes: list[Change]) -> None:
        if ag.users == 0:
            del self.publisher._address_groups[ag.group.selector.normalized]
            del self.publisher._address_groups_by_name[ag.name]
            self.dead_ags.append(ag)
            return
        span_changed = False
        if ag in self.ag_spans:
            span = frozenset(ag.node_counts)
            if span != ag.span:
                ag.span = span
                span_changed = True
        added, removed = self.patches.get(ag, ((), ()))
        if added or removed or span_changed or ag.fresh:
            changes.append(AddressGroupChange(ag.name, ag.span, tuple(added), tuple(removed), False))
            ag.published = True
        ag.fresh = False

    def _applied_to_group_change(self, atg: _AppliedToGroup, changes: list[Change]) -> None:
        if not atg.policies:
            del self.publisher._applied_to_groups[atg.group.selector.normalized]
            self.dead_atgs.append(atg)
            return
        added, removed = self.node_patches.get(atg, _NO_NODE_PATCH)
        if added or removed or atg in self.atg_spans or atg.fresh:
            changes.append(AppliedToGroupChange(atg.name, atg.span, added, removed, False))
            atg.published = True
        atg.fresh = False

    def _policy_changes(
        self,
        dirty: Set[str],
        linking: list[tuple[str, _AppliedToGroup, tuple[_AddressGroup, ...]]],
        changes: list[Change],
    ) -> None:
        published = self.publisher._published
        policies = self.pending.policies
        for uid, atg, ags in linking:
            policy = policies[uid].policy
            old = published.get(uid)
            if old is not None and old.policy == policy and old.span == atg.span:
                old.applied_to, old.address_groups = atg, ags
                continue
            published[uid] = _Published(policy, atg, ags, atg.span)
            changes.append(PolicyChange(uid, policy, atg.span))
        for uid in dirty:
            if uid not in policies and published.pop(uid, None) is not None:
                changes.append(PolicyChange(uid, None, EMPTY_SPAN))
        for atg in self.atg_spans:
            for uid in atg.policies:
                record = published[uid]
                if record.span is not atg.span:
                    record.span = atg.span
                    changes.append(PolicyChange(uid, record.policy, atg.span))


_NO_NODE_PATCH: tuple[MembersByNode, MembersByNode] = ({}, {})


def _by_node(members: list[GroupMember]) -> MembersByNode:
    grouped: dict[str, list[GroupMember]] = {}
    for member in members:
        node_members = grouped.get(member.node)
        if node_members is None:
            grouped[member.node] = [member]
        else:
            node_members.append(member)
    return {node: tuple(node_members) for node, node_members in grouped.items()}
