"""The soak's churn plan: the same seed gives the same changes, and every change is one the
model allows (nothing deleted or relabelled that the plan did not make, bounds kept)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from lab.soak.churn import MAX_DEPLOYMENTS, MAX_PODS, MAX_POLICIES, MAX_REPLICAS, NAMESPACES, Churn


def plan(seed: int, count: int) -> list[str]:
    churn = Churn(random.Random(seed), ["node1", "node2", "node3"])
    changes = churn.setup() + [churn.next() for _ in range(count)]
    return [f"{c.title} {c.body} {c.labels}" for c in changes]


def test_a_seed_gives_the_same_changes_and_another_seed_others():
    assert plan(7, 100) == plan(7, 100)
    assert plan(7, 100) != plan(8, 100)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 300))
def test_every_change_is_one_the_model_allows(seed, count):
    churn = Churn(random.Random(seed), ["node1", "node2"])
    made = {("Namespace", None, ns) for ns in NAMESPACES}
    for change in churn.setup():
        made.add((change.kind, change.namespace, change.name))
    for _ in range(count):
        change = churn.next()
        key = (change.kind, change.namespace, change.name)
        if change.verb == "delete" or change.verb == "label":
            assert key in made, change.title
        if change.verb == "delete":
            made.discard(key)
        else:
            made.add(key)
        if change.kind == "Pod" and change.verb == "apply":
            assert change.body["spec"]["nodeName"] in ("node1", "node2")
        if change.kind == "Deployment" and change.verb == "apply":
            assert 0 <= change.body["spec"]["replicas"] <= MAX_REPLICAS
        model = churn.model
        assert len(model.pods) <= MAX_PODS and len(model.deployments) <= MAX_DEPLOYMENTS
        assert len(model.policies) <= MAX_POLICIES
        assert {key for key in made if key[0] == "Pod"} == {("Pod", *key) for key in model.pods}
        assert {key for key in made if key[0] == "NetworkPolicy"} == {
            ("NetworkPolicy", *k) for k in model.policies
        }
