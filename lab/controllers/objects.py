"""What the lab's controllers read of Pods, Nodes and Deployments: frozen views."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TEMPLATE_HASH_LABEL = "pod-template-hash"


@dataclass(frozen=True, slots=True)
class PodView:
    namespace: str
    name: str
    uid: str
    node_name: str
    owner_uid: str
    """The uid of the Deployment that controls the pod, or ""."""
    template_hash: str
    ready: bool

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class NodeView:
    name: str
    ready: bool
    schedulable: bool


@dataclass(frozen=True, slots=True)
class DeploymentView:
    namespace: str
    name: str
    uid: str
    generation: int
    replicas: int
    template: str
    """The pod template as canonical JSON (its hash names the pods)."""
    status: str
    """The current status as canonical JSON (a write that changes nothing is skipped)."""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def trim_pod(obj: Mapping[str, Any]) -> PodView:
    metadata = obj["metadata"]
    owner = next(
        (
            ref
            for ref in metadata.get("ownerReferences") or ()
            if ref.get("controller") and ref.get("kind") == "Deployment"
        ),
        None,
    )
    conditions = (obj.get("status") or {}).get("conditions") or ()
    return PodView(
        namespace=metadata.get("namespace", ""),
        name=metadata["name"],
        uid=metadata.get("uid", ""),
        node_name=(obj.get("spec") or {}).get("nodeName") or "",
        owner_uid=owner.get("uid", "") if owner else "",
        template_hash=(metadata.get("labels") or {}).get(TEMPLATE_HASH_LABEL, ""),
        ready=any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions),
    )


def trim_node(obj: Mapping[str, Any]) -> NodeView:
    conditions = (obj.get("status") or {}).get("conditions") or ()
    return NodeView(
        name=obj["metadata"]["name"],
        ready=any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions),
        schedulable=not (obj.get("spec") or {}).get("unschedulable"),
    )


def trim_deployment(obj: Mapping[str, Any]) -> DeploymentView:
    metadata = obj["metadata"]
    spec = obj.get("spec") or {}
    replicas = spec.get("replicas", 1)
    if not isinstance(replicas, int) or replicas < 0:
        raise ValueError(f"spec.replicas: {replicas!r} is not a count")
    return DeploymentView(
        namespace=metadata.get("namespace", ""),
        name=metadata["name"],
        uid=metadata.get("uid", ""),
        generation=int(metadata.get("generation", 0)),
        replicas=replicas,
        template=canonical(spec.get("template") or {}),
        status=canonical(obj.get("status") or {}),
    )


def natural_key(name: str) -> tuple[Any, ...]:
    """Sorts node2 before node10."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))
