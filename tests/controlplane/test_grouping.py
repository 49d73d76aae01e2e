"""The grouping index does the least matching: label sets share results, and a pod event looks only
at its namespace's groups and at the groups with a namespace selector."""

from __future__ import annotations

import pytest

from controlplane.compute.grouping import Grouping
from controlplane.compute.groupselector import GroupSelector
from controlplane.compute.labels import EVERYTHING, LabelSelector, make_labels


@pytest.fixture
def matched(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Texts of the selectors evaluated against a label set (not answered from a cache)."""
    calls: list[str] = []
    original = LabelSelector.matches

    def counting(self: LabelSelector, labels: dict[str, str]) -> bool:
        calls.append(self.text)
        return original(self, labels)

    monkeypatch.setattr(LabelSelector, "matches", counting)
    return calls


def test_pods_with_the_same_labels_share_matching(matched: list[str]) -> None:
    grouping = Grouping()
    web = LabelSelector.from_match_labels({"app": "web"})
    grouping.acquire(GroupSelector.in_namespace("a", web))
    for i in range(1000):
        grouping.set_pod(("a", f"p{i}"), make_labels({"app": "web", "tier": "x"}))
    assert matched == ["app=web"]
    group = grouping.take_changes().created[0]
    assert len(group.members) == 1000


def test_a_pod_event_looks_only_at_its_namespace_and_namespace_selector_groups(matched: list[str]) -> None:
    grouping = Grouping()
    for ns in range(100):
        grouping.set_namespace(f"ns{ns}", make_labels({"n": str(ns)}))
        grouping.acquire(
            GroupSelector.in_namespace(f"ns{ns}", LabelSelector.from_match_labels({"app": f"a{ns}"}))
        )
    grouping.acquire(GroupSelector.across_namespaces(LabelSelector.from_match_labels({"n": "7"}), EVERYTHING))
    grouping.take_changes()
    matched.clear()
    grouping.set_pod(("ns7", "p"), make_labels({"app": "new"}))
    # ns7's own group and the namespace-selector group; no other namespace's groups.
    assert sorted(matched) == ["", "app=a7"]
    changes = grouping.take_changes()
    assert [(p.group.selector.normalized, p.added) for p in changes.patched] == [
        ("namespaceSelector=n=7 And podSelector=", (("ns7", "p"),))
    ]


def test_groups_nobody_uses_are_dropped_at_the_next_take() -> None:
    grouping = Grouping()
    grouping.set_pod(("a", "p"), make_labels({"app": "web"}))
    selector = GroupSelector.in_namespace("a", EVERYTHING)
    group = grouping.acquire(selector)
    grouping.take_changes()
    grouping.release(group)
    assert grouping.acquire(selector) is group  # revived before the take: no change at all
    grouping.release(group)
    changes = grouping.take_changes()
    assert changes.deleted == (group,)
    assert grouping.groups_of(("a", "p")) == frozenset()


def test_a_new_namespace_selector_group_is_seen_by_later_pods_with_cached_labels() -> None:
    grouping = Grouping()
    grouping.set_namespace("a", make_labels({"env": "x"}))
    grouping.set_pod(("a", "p0"), make_labels({"app": "web"}))
    group = grouping.acquire(
        GroupSelector.across_namespaces(LabelSelector.from_match_labels({"env": "x"}), EVERYTHING)
    )
    grouping.set_pod(("a", "p1"), make_labels({"app": "web"}))
    assert group.members == {("a", "p0"), ("a", "p1")}
    grouping.set_namespace("a", make_labels({"env": "y"}))
    grouping.set_pod(("a", "p2"), make_labels({"app": "web"}))
    assert group.members == set()
    grouping.set_namespace("a", make_labels({"env": "x"}))
    grouping.set_pod(("a", "p3"), make_labels({"app": "web"}))
    assert group.members == {("a", "p0"), ("a", "p1"), ("a", "p2"), ("a", "p3")}


@pytest.mark.parametrize(
    "selector",
    [
        GroupSelector.across_namespaces(LabelSelector.from_match_labels({"env": "x"}), EVERYTHING),
        GroupSelector.in_namespace("a", EVERYTHING),
    ],
    ids=["namespace selector", "one namespace"],
)
def test_a_dropped_group_is_forgotten_by_cached_labels(selector: GroupSelector) -> None:
    grouping = Grouping()
    grouping.set_namespace("a", make_labels({"env": "x"}))
    group = grouping.acquire(selector)
    grouping.set_pod(("a", "p0"), make_labels({"app": "web"}))
    assert grouping.groups_of(("a", "p0")) == {group}
    grouping.release(group)
    grouping.take_changes()
    grouping.set_pod(("a", "p1"), make_labels({"app": "web"}))
    assert grouping.groups_of(("a", "p1")) == frozenset()
    assert ("a", "p1") not in group.members
