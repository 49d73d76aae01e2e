"""The soak's churn plan: the same seed gives the same changes, and every change is one the
model allows (nothing deleted or relabelled that the plan did not make, bounds kept); its
ClusterNetworkPolicies select only the soak's pods and never tie on a priority within a tier."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from lab.soak.churn import (
    MAX_CLUSTER_POLICIES,
    MAX_DEPLOYMENTS,
    MAX_PODS,
    MAX_POLICIES,
    MAX_REPLICAS,
    MAX_SERVICES,
    NAMESPACES,
    Churn,
)


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
        assert len(model.services) <= MAX_SERVICES
        assert len(model.cluster_policies) <= MAX_CLUSTER_POLICIES
        assert {key for key in made if key[0] == "Service"} == {("Service", *k) for k in model.services}
        assert {key for key in made if key[0] == "ClusterNetworkPolicy"} == {
            ("ClusterNetworkPolicy", None, name) for name in model.cluster_policies
        }


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 400))
def test_cluster_policies_select_only_soak_pods_and_never_tie(seed, count):
    churn = Churn(random.Random(seed), ["node1"])
    churn.setup()
    kinds = set()
    for _ in range(count):
        change = churn.next()
        kinds.add((change.verb, change.kind))
        if change.kind == "ClusterNetworkPolicy" and change.verb == "apply":
            assert change.body["metadata"]["labels"] == {"soak": "yes"}
            subject = change.body["spec"]["subject"]
            namespaces = (
                subject["namespaces"] if "namespaces" in subject else subject["pods"]["namespaceSelector"]
            )
            assert namespaces["matchLabels"]["soak"] == "yes"
        for tier in ("Admin", "Baseline"):
            priorities = [
                body["spec"]["priority"]
                for body in churn.model.cluster_policies.values()
                if body["spec"]["tier"] == tier
            ]
            assert len(priorities) == len(set(priorities))
    if count >= 300:
        assert {("apply", "Service"), ("delete", "Service"), ("apply", "ClusterNetworkPolicy")} <= kinds
