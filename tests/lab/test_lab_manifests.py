"""Reading manifests as `kubectl apply -f` does, with the file and line in every error."""

from __future__ import annotations

import pytest

from lab import kinds
from lab.manifests import ManifestError, parse_manifests

FILE = """\
apiVersion: v1
kind: Namespace
metadata: {name: dev, namespace: ignored}
---
# a comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec: {}
---
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: dev}
"""


def test_documents_become_manifests_with_their_kind_namespace_and_line():
    namespace, deployment, policy = parse_manifests(FILE, "f.yaml")
    assert (namespace.kind, namespace.namespace, namespace.name, namespace.line) == (
        kinds.NAMESPACE,
        None,
        "dev",
        1,
    )
    assert "namespace" not in namespace.body["metadata"]
    assert (deployment.kind, deployment.namespace, deployment.line) == (kinds.DEPLOYMENT, "default", 6)
    assert deployment.body["metadata"]["namespace"] == "default"
    assert deployment.title == "deployment.apps/web"
    assert (policy.kind, policy.namespace, policy.where) == (kinds.NETWORK_POLICY, "dev", "f.yaml:13")


def test_a_list_contributes_its_items_each_with_its_own_line():
    text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n" \
        "- apiVersion: v1\n  kind: Pod\n  metadata: {name: b}\n"  # fmt: skip
    assert [(m.name, m.line) for m in parse_manifests(text, "l.yaml")] == [("a", 4), ("b", 7)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [1\n", "f.yaml:2:1: invalid YAML"),
        ("kind: Pod\nmetadata:\n  name: x\n   bad: 1\n", "f.yaml:4:7: invalid YAML: mapping values"),
        ("- 1\n", "f.yaml:1: a manifest must be a YAML mapping"),
        ("apiVersion: v1\nmetadata: {name: x}\n", "f.yaml:1: the object has no kind"),
        ("kind: Pod\nmetadata: {name: x}\n", "f.yaml:1: the Pod has no apiVersion"),
        ("apiVersion: v1\nkind: Pod\n", "f.yaml:1: the Pod has no metadata.name"),
        ("x: 1\n---\napiVersion: v2\nkind: Pod\nmetadata: {name: p}\n", "f.yaml:1: the object has no kind"),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n---\napiVersion: v1\nkind: Widget\n",
            'f.yaml:5: no kind "Widget"',
        ),
    ],
)
def test_errors_name_the_file_and_line(text: str, message: str):
    with pytest.raises(ManifestError) as error:
        parse_manifests(text, "f.yaml")
    assert str(error.value).startswith(message), str(error.value)


def test_kinds_are_known_by_every_name_kubectl_accepts():
    for name in ("pods", "pod", "po", "PODS"):
        assert kinds.by_name(name) is kinds.POD
    for name in ("netpol", "networkpolicies.networking.k8s.io", "networkpolicy"):
        assert kinds.by_name(name) is kinds.NETWORK_POLICY
    assert kinds.by_name("deploy") is kinds.DEPLOYMENT
    with pytest.raises(kinds.UnknownKind, match='resource type "widgets"'):
        kinds.by_name("widgets")
