"""Objects listed through `compute.kubefields` (only the fields `kubeparse` reads, decoded by
`kube.listdecode`) convert exactly as the whole objects do: the same value, or the same error."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from controlplane.compute.kubefields import NamespaceFields, NetworkPolicyFields, NodeFields, PodFields
from controlplane.compute.kubeparse import (
    namespace_from_k8s,
    network_policy_or_invalid,
    node_from_k8s,
    pod_from_k8s,
)
from pyantrea_kube.listdecode import decode_list
from tests.controlplane import k8s

KINDS: dict[str, tuple[type, Callable[[Any], Any]]] = {
    "Namespace": (NamespaceFields, namespace_from_k8s),
    "Node": (NodeFields, node_from_k8s),
    "Pod": (PodFields, pod_from_k8s),
    "NetworkPolicy": (NetworkPolicyFields, network_policy_or_invalid),
}

BASES = [
    k8s.namespace("prod", app="web"),
    k8s.node("n1"),
    k8s.pod("prod", "web", {"app": "web"}, ports=[{"name": "http", "containerPort": 80}]),
    k8s.pod("prod", "db", None, node="", ip=None, phase="Pending", host_network=True),
    k8s.policy(
        "prod",
        "p",
        k8s.labels(app="web"),
        ingress=[{"from": [{"podSelector": k8s.labels(app="db")}], "ports": [{"port": 80}]}],
        policy_types=["Ingress"],
    ),
]

# The paths each converter reads, where a mutation may put any JSON value.
PATHS = [
    ("metadata",),
    ("metadata", "name"),
    ("metadata", "namespace"),
    ("metadata", "labels"),
    ("metadata", "uid"),
    ("metadata", "generation"),
    ("spec",),
    ("spec", "nodeName"),
    ("spec", "hostNetwork"),
    ("spec", "containers"),
    ("spec", "podSelector"),
    ("status",),
    ("status", "phase"),
    ("status", "podIP"),
    ("status", "podIPs"),
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 70000) | st.sampled_from(["", "x", "10.0.0.9", "Running"]),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.sampled_from(["ip", "ports", "a"]), inner),
    max_leaves=4,
)


def outcome(convert: Callable[[Any], Any], obj: Any) -> tuple[str, Any]:
    try:
        return ("value", convert(obj))
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        return ("error", f"{type(error).__name__}: {error}")


def check(obj: dict[str, Any]) -> None:
    fields, convert = KINDS[obj["kind"]]
    body = json.dumps({"metadata": {"resourceVersion": "7", "continue": "next"}, "items": [obj]}).encode()
    whole = decode_list(body)
    trimmed = decode_list(body, fields)
    assert (trimmed.resource_version, trimmed.continue_token) == ("7", "next")
    assert outcome(convert, trimmed.items[0]) == outcome(convert, whole.items[0])


def test_listed_fields_convert_like_whole_objects() -> None:
    for obj in BASES:
        check(obj)


def test_only_the_read_fields_are_kept() -> None:
    pod = k8s.pod("prod", "web", {"app": "web"})
    pod["metadata"]["managedFields"] = [{"manager": "kubelet"}]
    body = json.dumps({"metadata": {"resourceVersion": "1"}, "items": [pod]}).encode()
    (item,) = decode_list(body, PodFields).items
    assert item["metadata"] == {"namespace": "prod", "name": "web", "labels": {"app": "web"}}
    assert item["spec"] == {"nodeName": "n1", "containers": [{"ports": []}]}
    assert decode_list(body, PodFields).continue_token is None


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(BASES), st.sampled_from(PATHS), json_values, st.booleans())
def test_any_value_at_a_read_field_converts_alike(base, path, replacement, drop) -> None:
    obj = json.loads(json.dumps(base))
    parent = obj
    for key in path[:-1]:
        parent = parent.get(key)
        if not isinstance(parent, dict):
            return
    if drop:
        parent.pop(path[-1], None)
    else:
        parent[path[-1]] = replacement
    check(obj)
