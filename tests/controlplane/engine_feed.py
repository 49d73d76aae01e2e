"""Kubernetes objects in their JSON form handed to a `PolicyEngine`, as the controller's
informers hand them over (a policy whose spec is unusable arrives as its invalid value)."""

from __future__ import annotations

from typing import Any

from controlplane.compute.engine import PolicyEngine
from controlplane.compute.kubeparse import (
    cluster_network_policy_or_invalid,
    namespace_from_k8s,
    network_policy_or_invalid,
    node_from_k8s,
    pod_from_k8s,
)


def upsert(engine: PolicyEngine, obj: dict[str, Any]) -> None:
    kind = obj["kind"]
    if kind == "Namespace":
        engine.upsert_namespace(namespace_from_k8s(obj))
    elif kind == "Node":
        engine.upsert_node(node_from_k8s(obj))
    elif kind == "Pod":
        engine.upsert_pod(pod_from_k8s(obj))
    elif kind == "ClusterNetworkPolicy":
        engine.upsert_cluster_policy(cluster_network_policy_or_invalid(obj))
    else:
        engine.upsert_policy(network_policy_or_invalid(obj))
