"""Selector groups and their member pods, kept current as pods, namespaces and groups change.

This is the hot path, so it is indexed the way Antrea's `grouping` package is:

* Label sets are interned and each keeps a cache `selector text -> matches?`, so pods (and
  namespaces) with identical labels share all selector matching.
* Each namespace indexes its own groups and the groups whose namespace selector matches it,
  and caches per label set which of them select a pod with those labels: a pod event looks
  only at groups that can select its namespace, once per label set.
* Membership changes immediately; what changed since the last `take_changes` is recorded as the
  first-seen membership of each touched (group, pod), so any burst of events nets out to the
  minimal patch, and a bulk load pays for each group once.
"""

from __future__ import annotations

from controlplane.compute.groupselector import GroupSelector
from controlplane.compute.labels import Labels, LabelSelector
from pyantrea_api.objects import PodKey
from pyantrea_api.values import value


class _LabelSet:
    """An interned label set with its selector-match cache; `users` counts pods and namespaces."""

    __slots__ = ("labels", "mapping", "matches", "users")

    def __init__(self, labels: Labels) -> None:
        self.labels = labels
        self.mapping = dict(labels)
        self.matches: dict[str, bool] = {}
        self.users = 0

    def match(self, selector: LabelSelector) -> bool:
        result = self.matches.get(selector.text)
        if result is None:
            result = self.matches[selector.text] = selector.matches(self.mapping)
        return result


class SelectorGroup:
    """The current members of one group selector; `refs` counts its users."""

    __slots__ = ("members", "namespaces", "refs", "selector")

    def __init__(self, selector: GroupSelector) -> None:
        self.selector = selector
        self.members: set[PodKey] = set()
        self.refs = 0
        self.namespaces: set[str] = set()
        """For a group with a namespace selector: the namespaces it matches now."""


class _Namespace:
    """One namespace: its labels (None while the Namespace is unknown), pods and local groups."""

    __slots__ = ("groups", "labels", "matching", "pods", "selected_by")

    def __init__(self) -> None:
        self.labels: _LabelSet | None = None
        self.pods: dict[_LabelSet, set[PodKey]] = {}
        """Member-eligible pods by label set."""
        self.groups: set[SelectorGroup] = set()
        """Groups selecting in this namespace only."""
        self.selected_by: set[SelectorGroup] = set()
        """Groups with a namespace selector that matches this namespace."""
        self.matching: dict[_LabelSet, tuple[SelectorGroup, ...]] = {}
        """For label sets of pods here, the groups of both kinds above that select them;
        cleared when those groups change."""


@value
class MembershipPatch:
    """Members a group gained and lost since the last `take_changes`."""

    group: SelectorGroup
    added: tuple[PodKey, ...]
    removed: tuple[PodKey, ...]


@value
class GroupingChanges:
    """What changed since the last `take_changes`."""

    created: tuple[SelectorGroup, ...]
    """Groups that appeared; their members are all new."""
    deleted: tuple[SelectorGroup, ...]
    """Groups that lost their last user and were dropped."""
    patched: tuple[MembershipPatch, ...]


class Grouping:
    """Group membership for a changing set of pods, namespaces and group selectors."""

    def __init__(self) -> None:
        self._label_sets: dict[Labels, _LabelSet] = {}
        self._namespaces: dict[str, _Namespace] = {}
        self._pod_labels: dict[PodKey, _LabelSet] = {}
        self._pod_groups: dict[PodKey, set[SelectorGroup]] = {}
        self._groups: dict[str, SelectorGroup] = {}
        self._cluster_groups: set[SelectorGroup] = set()
        self._baseline: dict[SelectorGroup, dict[PodKey, bool]] = {}
        self._created: set[SelectorGroup] = set()
        self._released: set[SelectorGroup] = set()

    def groups_of(self, pod: PodKey) -> frozenset[SelectorGroup] | set[SelectorGroup]:
        """The groups a pod is a member of now."""
        return self._pod_groups.get(pod, frozenset())

    def acquire(self, selector: GroupSelector) -> SelectorGroup:
        """The group of `selector`, made (with its current members) if it is new; one more user."""
        group = self._groups.get(selector.normalized)
        if group is None:
            group = self._groups[selector.normalized] = SelectorGroup(selector)
            self._created.add(group)
            self._fill(group)
        group.refs += 1
        return group

    def release(self, group: SelectorGroup) -> None:
        """One user less; a group without users is dropped at the next `take_changes`."""
        group.refs -= 1
        if group.refs == 0:
            self._released.add(group)

    def set_pod(self, pod: PodKey, labels: Labels | None) -> None:
        """The labels of a member-eligible pod, or None for a pod selectors must not see."""
        old = self._pod_labels.get(pod)
        if old is None and labels is None:
            return
        if old is not None and labels == old.labels:
            return
        namespace = self._namespace(pod[0])
        if old is not None:
            pods = namespace.pods[old]
            pods.discard(pod)
            if not pods:
                del namespace.pods[old]
                namespace.matching.pop(old, None)
            self._unuse(old)
        if labels is None:
            del self._pod_labels[pod]
            new_groups: set[SelectorGroup] = set()
        else:
            label_set = self._pod_labels[pod] = self._use(labels)
            namespace.pods.setdefault(label_set, set()).add(pod)
            selecting = namespace.matching.get(label_set)
            if selecting is None:
                selecting = namespace.matching[label_set] = tuple(
                    [g for g in namespace.groups if label_set.match(g.selector.pod_selector)]
                    + [g for g in namespace.selected_by if label_set.match(g.selector.pod_selector)]
                )
            new_groups = set(selecting)
        old_groups = self._pod_groups.get(pod)
        if old_groups:
            for group in old_groups - new_groups:
                self._leave(group, pod)
            new_groups -= old_groups
        for group in new_groups:
            self._join(group, pod)
        if not self._pod_groups.get(pod, True):
            del self._pod_groups[pod]
        if labels is None and not namespace.pods and namespace.labels is None and not namespace.groups:
            del self._namespaces[pod[0]]

    def set_namespace(self, name: str, labels: Labels | None) -> None:
        """A namespace's labels, or None once it is deleted."""
        namespace = self._namespace(name)
        old = namespace.labels
        if old is not None and labels == old.labels:
            return
        namespace.labels = self._use(labels) if labels is not None else None
        if old is not None:
            self._unuse(old)
        for group in self._cluster_groups:
            self._rematch_namespace(group, name, namespace)
        if namespace.labels is None and not namespace.pods and not namespace.groups:
            del self._namespaces[name]

    def take_changes(self) -> GroupingChanges:
        """Group creations, deletions and member patches since the last call."""
        deleted = []
        for group in self._released:
            if group.refs == 0:
                self._drop(group)
                if group in self._created:
                    self._created.discard(group)
                else:
                    deleted.append(group)
                self._baseline.pop(group, None)
        patched = []
        for group, baseline in self._baseline.items():
            members = group.members
            added = tuple(pod for pod, was in baseline.items() if not was and pod in members)
            removed = tuple(pod for pod, was in baseline.items() if was and pod not in members)
            if added or removed:
                patched.append(MembershipPatch(group, added, removed))
        changes = GroupingChanges(tuple(self._created), tuple(deleted), tuple(patched))
        self._baseline = {}
        self._created = set()
        self._released = set()
        return changes

    def _namespace(self, name: str) -> _Namespace:
        namespace = self._namespaces.get(name)
        if namespace is None:
            namespace = self._namespaces[name] = _Namespace()
        return namespace

    def _use(self, labels: Labels) -> _LabelSet:
        label_set = self._label_sets.get(labels)
        if label_set is None:
            label_set = self._label_sets[labels] = _LabelSet(labels)
        label_set.users += 1
        return label_set

    def _unuse(self, label_set: _LabelSet) -> None:
        label_set.users -= 1
        if label_set.users == 0:
            del self._label_sets[label_set.labels]

    def _fill(self, group: SelectorGroup) -> None:
        selector = group.selector
        if selector.namespace is not None:
            namespace = self._namespace(selector.namespace)
            namespace.groups.add(group)
            namespace.matching.clear()
            self._add_matching(group, namespace)
            return
        self._cluster_groups.add(group)
        for name, namespace in self._namespaces.items():
            self._rematch_namespace(group, name, namespace)

    def _rematch_namespace(self, group: SelectorGroup, name: str, namespace: _Namespace) -> None:
        selector = group.selector.namespace_selector
        assert selector is not None
        matched = namespace.labels is not None and namespace.labels.match(selector)
        if matched == (name in group.namespaces):
            return
        namespace.matching.clear()
        if matched:
            group.namespaces.add(name)
            namespace.selected_by.add(group)
            self._add_matching(group, namespace)
            return
        group.namespaces.discard(name)
        namespace.selected_by.discard(group)
        pod_selector = group.selector.pod_selector
        for label_set, pods in namespace.pods.items():
            if label_set.match(pod_selector):
                for pod in pods:
                    self._leave(group, pod)
                    if not self._pod_groups[pod]:
                        del self._pod_groups[pod]

    def _add_matching(self, group: SelectorGroup, namespace: _Namespace) -> None:
        pod_selector = group.selector.pod_selector
        fresh = group in self._created
        pod_groups = self._pod_groups
        for label_set, pods in namespace.pods.items():
            if not label_set.match(pod_selector):
                continue
            if not fresh:
                for pod in pods:
                    self._join(group, pod)
                continue
            # A new group has no baseline to record: add its members in bulk.
            group.members |= pods
            for pod in pods:
                groups = pod_groups.get(pod)
                if groups is None:
                    pod_groups[pod] = {group}
                else:
                    groups.add(group)

    def _drop(self, group: SelectorGroup) -> None:
        del self._groups[group.selector.normalized]
        for pod in group.members:
            groups = self._pod_groups[pod]
            groups.discard(group)
            if not groups:
                del self._pod_groups[pod]
        selector = group.selector
        if selector.namespace is None:
            self._cluster_groups.discard(group)
            for name in group.namespaces:
                namespace = self._namespaces[name]
                namespace.selected_by.discard(group)
                namespace.matching.clear()
            return
        namespace = self._namespaces[selector.namespace]
        namespace.groups.discard(group)
        namespace.matching.clear()
        if namespace.labels is None and not namespace.pods and not namespace.groups:
            del self._namespaces[selector.namespace]

    def _join(self, group: SelectorGroup, pod: PodKey) -> None:
        if group not in self._created:
            baseline = self._baseline.get(group)
            if baseline is None:
                baseline = self._baseline[group] = {}
            baseline.setdefault(pod, False)
        group.members.add(pod)
        groups = self._pod_groups.get(pod)
        if groups is None:
            groups = self._pod_groups[pod] = set()
        groups.add(group)

    def _leave(self, group: SelectorGroup, pod: PodKey) -> None:
        if group not in self._created:
            baseline = self._baseline.get(group)
            if baseline is None:
                baseline = self._baseline[group] = {}
            baseline.setdefault(pod, True)
        group.members.discard(pod)
        self._pod_groups[pod].discard(group)
