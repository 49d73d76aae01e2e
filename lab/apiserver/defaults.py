"""Defaulting: the fields kube-apiserver fills in on every write, for the served kinds.

Only defaults that clients of this project can observe are applied: protocols on ports (TCP),
a NetworkPolicy's `policyTypes` (Ingress, plus Egress when it has egress rules) and empty
`podSelector`, a Service's type, session affinity and target ports, a Pod's restart and DNS
policy (also in a Deployment's pod template), a Deployment's replicas and strategy, and the
`kubernetes.io/metadata.name` label on namespaces. Functions mutate the fresh
object they are given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def apply_defaults(kind: str, obj: dict[str, Any]) -> None:
    """Fill in the defaults of `kind` in `obj` (in place)."""
    defaulter = _DEFAULTERS.get(kind)
    if defaulter is not None:
        defaulter(obj)


def _default_protocols(ports: Any) -> None:
    for port in ports or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")


def _namespace(obj: dict[str, Any]) -> None:
    metadata = obj["metadata"]
    labels = metadata.get("labels") or {}
    labels[NAMESPACE_NAME_LABEL] = metadata["name"]
    metadata["labels"] = labels
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])


def _pod(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    for group in ("initContainers", "containers"):
        for container in spec.get(group) or []:
            if isinstance(container, dict):
                _default_protocols(container.get("ports"))


def _deployment(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    spec.setdefault(
        "strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    )
    template = spec.get("template")
    if isinstance(template, dict):
        _pod(template)


def _service(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            if "port" in port:
                port.setdefault("targetPort", port["port"])


def _endpoints(obj: dict[str, Any]) -> None:
    for subset in obj.get("subsets") or []:
        if isinstance(subset, dict):
            _default_protocols(subset.get("ports"))


def _network_policy(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("podSelector", {})
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]
    for direction in ("ingress", "egress"):
        for rule in spec.get(direction) or []:
            if isinstance(rule, dict):
                _default_protocols(rule.get("ports"))


_DEFAULTERS: Mapping[str, Callable[[dict[str, Any]], None]] = {
    "Namespace": _namespace,
    "Pod": _pod,
    "Service": _service,
    "Endpoints": _endpoints,
    "NetworkPolicy": _network_policy,
    "Deployment": _deployment,
}
