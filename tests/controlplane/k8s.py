"""Builders of Kubernetes objects in their JSON form, as `kubectl get -o json` prints them."""

from __future__ import annotations

from typing import Any


def namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def node(name: str, ip: str | None = None, **labels: str) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
    if labels:
        obj["metadata"]["labels"] = labels
    if ip is not None:
        obj["status"] = {
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}]
        }
    return obj


def cluster_policy(
    name: str,
    tier: str,
    priority: int,
    subject: dict[str, Any],
    *,
    ingress: list[dict[str, Any]] | None = None,
    egress: list[dict[str, Any]] | None = None,
    generation: int = 1,
) -> dict[str, Any]:
    """A policy.networking.k8s.io/v1beta1 ClusterNetworkPolicy."""
    spec: dict[str, Any] = {"tier": tier, "priority": priority, "subject": subject}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {
        "apiVersion": "policy.networking.k8s.io/v1beta1",
        "kind": "ClusterNetworkPolicy",
        "metadata": {"name": name, "uid": f"uid-{name}", "generation": generation},
        "spec": spec,
    }


def pod(
    ns: str,
    name: str,
    labels: dict[str, str] | None = None,
    *,
    node: str = "n1",
    ip: str | None = "10.0.0.1",
    phase: str = "Running",
    host_network: bool = False,
    ports: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase}
    if ip:
        status["podIP"] = ip
        status["podIPs"] = [{"ip": ip}]
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "x", "ports": ports or []}]}
    if node:
        spec["nodeName"] = node
    if host_network:
        spec["hostNetwork"] = True
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"namespace": ns, "name": name, "labels": labels or {}},
        "spec": spec,
        "status": status,
    }


def policy(
    ns: str,
    name: str,
    pod_selector: dict[str, Any] | None = None,
    *,
    ingress: list[dict[str, Any]] | None = None,
    egress: list[dict[str, Any]] | None = None,
    policy_types: list[str] | None = None,
    uid: str | None = None,
    generation: int = 1,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"podSelector": pod_selector or {}}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    if policy_types is not None:
        spec["policyTypes"] = policy_types
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "namespace": ns,
            "name": name,
            "uid": uid or f"uid-{ns}-{name}",
            "generation": generation,
        },
        "spec": spec,
    }


def labels(**match_labels: str) -> dict[str, Any]:
    """A selector with only matchLabels."""
    return {"matchLabels": match_labels}
