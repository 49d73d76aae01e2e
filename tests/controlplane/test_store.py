"""Versioned store: resource versions, per-node views of each event, snapshots, subscriptions."""

from __future__ import annotations

from collections.abc import Iterable

from controlplane.store.events import StoreEvent
from pyantrea_api.events import EventType, NodeEvent, ObjectKind
from pyantrea_api.objects import (
    AddressGroup,
    AppliedToGroup,
    GroupMember,
    GroupPatch,
    InternalNetworkPolicy,
)
from tests.controlplane import k8s
from tests.controlplane.cluster import Cluster, pod_names

NODES = [k8s.node("n1"), k8s.node("n2"), k8s.node("n3")]
WEB1 = k8s.pod("prod", "web1", {"app": "web"}, node="n1", ip="10.0.0.1")
DB = k8s.pod("prod", "db", {"app": "db"}, node="n3", ip="10.0.0.3")
POLICY = k8s.policy(
    "prod", "p", k8s.labels(app="web"), ingress=[{"from": [{"podSelector": k8s.labels(app="db")}]}]
)


def summary(view: NodeEvent) -> tuple[str, str, object]:
    """(type, kind, what the node gets: pod names of a group or patch, a policy's rule count)."""
    obj = view.obj
    if isinstance(obj, AddressGroup | AppliedToGroup):
        detail: object = pod_names(obj.members)
    elif isinstance(obj, GroupPatch):
        detail = ("+", pod_names(obj.added), "-", pod_names(obj.removed))
    elif isinstance(obj, InternalNetworkPolicy):
        detail = len(obj.rules)
    else:
        detail = None
    return (view.type.value, view.kind.value, detail)


def seen_by(events: Iterable[StoreEvent], node: str) -> list[tuple[str, str, object]]:
    return [summary(view) for event in events if (view := event.for_node(node)) is not None]


def check_views_agree(events: Iterable[StoreEvent], nodes: Iterable[str]) -> None:
    """`views()` gives every node exactly what `for_node` gives it."""
    for event in events:
        by_views = {}
        for view, view_nodes in event.views():
            for node in view_nodes:
                assert node not in by_views
                by_views[node] = view
        by_node = {node: view for node in nodes if (view := event.for_node(node)) is not None}
        assert by_views == by_node


def started() -> Cluster:
    cluster = Cluster()
    cluster.apply(k8s.namespace("prod"), *NODES, WEB1, DB, POLICY)
    return cluster


def test_first_sync_adds_each_object_on_the_nodes_of_its_span():
    cluster = Cluster()
    events = cluster.apply(k8s.namespace("prod"), *NODES, WEB1, DB, POLICY)
    assert [e.resource_version for e in events] == [1, 2, 3]
    assert cluster.store.resource_version == 3
    assert seen_by(events, "n1") == [
        ("ADDED", "AddressGroup", {"prod/db"}),
        ("ADDED", "AppliedToGroup", {"prod/web1"}),
        ("ADDED", "NetworkPolicy", 1),
    ]
    assert seen_by(events, "n2") == []
    assert seen_by(events, "n3") == []
    check_views_agree(events, ["n1", "n2", "n3"])


def test_node_entering_the_span_gets_whole_objects_and_only_its_members():
    cluster = started()
    events = cluster.apply(k8s.pod("prod", "web2", {"app": "web"}, node="n2", ip="10.0.0.2"))
    assert seen_by(events, "n2") == [
        ("ADDED", "AddressGroup", {"prod/db"}),
        ("ADDED", "AppliedToGroup", {"prod/web2"}),
        ("ADDED", "NetworkPolicy", 1),
    ]
    assert seen_by(events, "n1") == []
    check_views_agree(events, ["n1", "n2", "n3"])


def test_nodes_in_the_span_get_address_group_patches():
    cluster = started()
    cluster.apply(k8s.pod("prod", "web2", {"app": "web"}, node="n2", ip="10.0.0.2"))
    events = cluster.apply(k8s.pod("prod", "db2", {"app": "db"}, node="n3", ip="10.0.0.4"))
    patch = [("MODIFIED", "AddressGroup", ("+", {"prod/db2"}, "-", set()))]
    assert seen_by(events, "n1") == patch
    assert seen_by(events, "n2") == patch
    assert seen_by(events, "n3") == []
    (event,) = events
    assert event.kind is ObjectKind.ADDRESS_GROUP
    # Compact: no copy of the span, no whole group, only the patch.
    assert event.prev_span is event.span
    assert event.group is None


def test_applied_to_group_patches_go_only_to_the_member_node():
    cluster = started()
    cluster.apply(k8s.pod("prod", "web2", {"app": "web"}, node="n2", ip="10.0.0.2"))
    events = cluster.apply(k8s.pod("prod", "web3", {"app": "web"}, node="n2", ip="10.0.0.5"))
    assert seen_by(events, "n2") == [("MODIFIED", "AppliedToGroup", ("+", {"prod/web3"}, "-", set()))]
    assert seen_by(events, "n1") == []
    check_views_agree(events, ["n1", "n2", "n3"])


def test_node_leaving_the_span_gets_deletes():
    cluster = started()
    cluster.apply(k8s.pod("prod", "web2", {"app": "web"}, node="n2", ip="10.0.0.2"))
    events = cluster.apply(k8s.pod("prod", "web1", {"app": "other"}, node="n1", ip="10.0.0.1"))
    assert sorted(seen_by(events, "n1")) == [
        ("DELETED", "AddressGroup", None),
        ("DELETED", "AppliedToGroup", None),
        ("DELETED", "NetworkPolicy", None),
    ]
    assert seen_by(events, "n2") == []
    check_views_agree(events, ["n1", "n2", "n3"])


def test_policy_changes_are_sent_whole_to_the_span():
    cluster = started()
    changed = k8s.policy(
        "prod",
        "p",
        k8s.labels(app="web"),
        ingress=[{"from": [{"podSelector": k8s.labels(app="db")}], "ports": [{"port": 80}]}],
        generation=2,
    )
    events = cluster.apply(changed)
    assert seen_by(events, "n1") == [("MODIFIED", "NetworkPolicy", 1)]
    (event,) = events
    view = event.for_node("n1")
    assert view is not None and isinstance(view.obj, InternalNetworkPolicy)
    assert view.obj.generation == 2
    assert cluster.apply(changed) == []


def test_deleting_the_policy_deletes_its_groups():
    cluster = started()
    events = cluster.delete("NetworkPolicy", "p", "prod")
    assert seen_by(events, "n1") == [
        ("DELETED", "NetworkPolicy", None),
        ("DELETED", "AppliedToGroup", None),
        ("DELETED", "AddressGroup", None),
    ]
    assert cluster.store.policies() == {}
    assert cluster.store.address_groups() == {}
    assert cluster.store.applied_to_groups() == {}
    check_views_agree(events, ["n1", "n2", "n3"])


def test_span_change_elsewhere_sends_nothing_to_nodes_that_stay():
    cluster = started()
    events = cluster.apply(k8s.pod("prod", "web2", {"app": "web"}, node="n2", ip="10.0.0.2"))
    assert {e.kind for e in events} == {
        ObjectKind.ADDRESS_GROUP,
        ObjectKind.APPLIED_TO_GROUP,
        ObjectKind.NETWORK_POLICY,
    }
    assert seen_by(events, "n1") == []


def test_snapshot_holds_what_the_node_needs():
    cluster = started()
    cluster.apply(k8s.pod("prod", "web2", {"app": "web"}, node="n2", ip="10.0.0.2"))
    snapshot = cluster.store.snapshot("n2")
    assert snapshot.resource_version == cluster.store.resource_version
    assert [p.source_ref.name for p in snapshot.policies] == ["p"]
    assert [pod_names(g.members) for g in snapshot.address_groups] == [{"prod/db"}]
    assert [pod_names(g.members) for g in snapshot.applied_to_groups] == [{"prod/web2"}]
    empty = cluster.store.snapshot("n3")
    assert (empty.policies, empty.address_groups, empty.applied_to_groups) == ((), (), ())


def test_subscribers_get_each_batch_until_they_leave():
    cluster = started()
    batches = []
    unsubscribe = cluster.store.subscribe(batches.append)
    events = cluster.apply(k8s.pod("prod", "db2", {"app": "db"}, node="n3", ip="10.0.0.4"))
    assert batches == [events]
    assert cluster.apply(k8s.pod("prod", "db2", {"app": "db"}, node="n3", ip="10.0.0.4")) == []
    assert batches == [events]
    unsubscribe()
    cluster.apply(k8s.pod("prod", "db3", {"app": "db"}, node="n3", ip="10.0.0.6"))
    assert batches == [events]


def test_member_ip_change_is_a_remove_and_an_add():
    cluster = started()
    events = cluster.apply(k8s.pod("prod", "db", {"app": "db"}, node="n3", ip="10.0.0.9"))
    (event,) = events
    view = event.for_node("n1")
    assert view is not None and view.type is EventType.MODIFIED
    assert isinstance(view.obj, GroupPatch)
    assert [m.ips for m in view.obj.removed] == [(bytes([10, 0, 0, 3]),)]
    assert [m.ips for m in view.obj.added] == [(bytes([10, 0, 0, 9]),)]


def test_full_address_group_sync_sends_nothing_when_the_store_agrees():
    cluster = started()
    (name,) = cluster.store.address_groups()
    full = cluster.engine.full_address_group(name)
    assert full is not None
    group, span = full
    assert pod_names(group.members) == {"prod/db"}
    assert span == {"n1"}
    assert cluster.store.sync_address_group(group, span) == []
    assert cluster.engine.full_address_group("no-such-group") is None


def test_full_address_group_sync_sends_the_difference_to_what_the_store_holds():
    cluster = started()
    (name,) = cluster.store.address_groups()
    group, span = cluster.engine.full_address_group(name)
    # What the store would hold had it missed a patch: db gone, db2 there, and n2 in the span.
    db2 = GroupMember("prod", "db2", (bytes([10, 0, 0, 4]),), (), "n3")
    cluster.store.sync_address_group(AddressGroup(name, (db2,)), span | {"n2"})
    events = cluster.store.sync_address_group(group, span)
    assert seen_by(events, "n1") == [("MODIFIED", "AddressGroup", ("+", {"prod/db"}, "-", {"prod/db2"}))]
    assert seen_by(events, "n2") == [("DELETED", "AddressGroup", None)]
    assert cluster.store.sync_address_group(group, span) == []
