"""Rules are named as users know them: by their Kubernetes rule, or as the isolation a
policyType without rules adds."""

from __future__ import annotations

from controlplane.compute.kubeparse import network_policy_or_invalid
from controlplane.compute.translate import translate
from pyantrea_api.rulenames import rule_names
from tests.controlplane import k8s

FROM_DB = {"from": [{"podSelector": k8s.labels(app="db")}]}


def names(policy: dict) -> tuple[str, ...]:
    return rule_names(translate(network_policy_or_invalid(policy)).policy)


def test_rules_are_numbered_per_direction_in_spec_order():
    policy = k8s.policy(
        "prod",
        "web",
        k8s.labels(app="web"),
        ingress=[FROM_DB, {}],
        egress=[{"ports": [{"port": 53, "protocol": "UDP"}]}],
    )
    assert names(policy) == ("ingress[0]", "ingress[1]", "egress[0]")


def test_a_policy_type_without_rules_is_an_isolation_only_rule():
    assert names(k8s.policy("prod", "deny", policy_types=["Ingress", "Egress"])) == (
        "ingress (isolation only)",
        "egress (isolation only)",
    )
    assert names(k8s.policy("prod", "mixed", ingress=[FROM_DB], policy_types=["Ingress", "Egress"])) == (
        "ingress[0]",
        "egress (isolation only)",
    )
