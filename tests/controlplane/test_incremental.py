"""Incremental output: each event yields only the changes it causes, nothing for no-ops."""

from __future__ import annotations

from controlplane.compute.changes import AddressGroupChange, AppliedToGroupChange, PolicyChange
from controlplane.compute.engine import PolicyEngine
from tests.controlplane import k8s
from tests.controlplane.engine_feed import upsert

POLICY = k8s.policy(
    "a",
    "p",
    k8s.labels(app="web"),
    ingress=[{"from": [{"namespaceSelector": k8s.labels(env="x"), "podSelector": k8s.labels(app="db")}]}],
)


def engine_with(*objects: dict) -> PolicyEngine:
    engine = PolicyEngine()
    for obj in objects:
        upsert(engine, obj)
    engine.sync()
    return engine


OBJECTS = (
    k8s.namespace("a", env="x"),
    k8s.namespace("b", env="y"),
    k8s.node("n1"),
    k8s.node("n2"),
    k8s.pod("a", "web", {"app": "web"}, node="n1"),
    k8s.pod("a", "db", {"app": "db"}, node="n2", ip="10.0.0.2"),
    k8s.pod("b", "db", {"app": "db"}, node="n2", ip="10.0.0.3"),
    POLICY,
)


def test_repeating_objects_changes_nothing():
    engine = engine_with(*OBJECTS)
    for obj in OBJECTS:
        upsert(engine, obj)
    assert engine.sync() == []


def test_changes_that_cancel_out_between_syncs_change_nothing():
    engine = engine_with(*OBJECTS)
    upsert(engine, k8s.pod("a", "db", {"app": "other"}, node="n2", ip="10.0.0.2"))
    engine.delete_pod("b", "db")
    upsert(engine, k8s.pod("a", "db", {"app": "db"}, node="n2", ip="10.0.0.2"))
    upsert(engine, k8s.pod("b", "db", {"app": "db"}, node="n2", ip="10.0.0.3"))
    assert engine.sync() == []


def test_a_pod_label_change_patches_only_its_groups():
    engine = engine_with(*OBJECTS)
    upsert(engine, k8s.pod("a", "db", {"app": "other"}, node="n2", ip="10.0.0.2"))
    (change,) = engine.sync()
    assert isinstance(change, AddressGroupChange)
    assert [(m.namespace, m.name) for m in change.removed] == [("a", "db")]
    assert change.added == ()
    assert change.span == {"n1"}


def test_a_namespace_label_change_moves_its_pods():
    engine = engine_with(*OBJECTS)
    upsert(engine, k8s.namespace("b", env="x"))
    (change,) = engine.sync()
    assert isinstance(change, AddressGroupChange)
    assert [(m.namespace, m.name) for m in change.added] == [("b", "db")]
    engine.delete_namespace("b")
    (change,) = engine.sync()
    assert [(m.namespace, m.name) for m in change.removed] == [("b", "db")]


def test_a_new_pod_on_a_new_node_moves_every_span():
    engine = engine_with(*OBJECTS)
    upsert(engine, k8s.pod("a", "web2", {"app": "web"}, node="n2", ip="10.0.0.9"))
    changes = engine.sync()
    by_type = {type(c): c for c in changes}
    assert set(by_type) == {AddressGroupChange, AppliedToGroupChange, PolicyChange}
    assert all(c.span == {"n1", "n2"} for c in changes)
    atg = by_type[AppliedToGroupChange]
    assert isinstance(atg, AppliedToGroupChange)
    assert {node: [m.name for m in members] for node, members in atg.added.items()} == {"n2": ["web2"]}
    # The span is shared, not copied, by the policy and its applied-to group.
    assert by_type[PolicyChange].span is atg.span


def test_a_node_event_moves_only_spans():
    engine = engine_with(*OBJECTS)
    engine.delete_node("n1")
    changes = engine.sync()
    assert {type(c) for c in changes} == {AddressGroupChange, AppliedToGroupChange, PolicyChange}
    assert all(c.span == frozenset() for c in changes)
    assert all(not c.added and not c.removed for c in changes if not isinstance(c, PolicyChange))
    upsert(engine, k8s.node("n1"))
    assert all(c.span == {"n1"} for c in engine.sync())


def test_a_policy_update_with_the_same_groups_changes_only_the_policy():
    engine = engine_with(*OBJECTS)
    changed = {**POLICY, "spec": {**POLICY["spec"], "policyTypes": ["Ingress", "Egress"]}}
    upsert(engine, changed)
    (change,) = engine.sync()
    assert isinstance(change, PolicyChange)
    assert change.policy is not None and len(change.policy.rules) == 2


def test_a_new_uid_for_the_same_name_replaces_the_internal_policy():
    engine = engine_with(*OBJECTS)
    upsert(engine, {**POLICY, "metadata": {**POLICY["metadata"], "uid": "other"}})
    changes = engine.sync()
    assert [(c.name, c.policy is None) for c in changes if isinstance(c, PolicyChange)] == [
        ("other", False),
        ("uid-a-p", True),
    ]
    assert not [c for c in changes if not isinstance(c, PolicyChange)]
