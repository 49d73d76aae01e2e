"""The Deployment controller's decisions, as pure functions: pod names, pod bodies, the plan
that brings a Deployment's pods to its spec, and the status that reports them.

Pods are named as upstream names them, `<deployment>-<pod-template-hash>-<5 characters>`
(`frontend-6cb7f8bd65-25qv4`): the hash is the FNV-32a of the pod template rendered with
upstream's `SafeEncodeString` alphabet. There are no ReplicaSets: pods are owned by their
Deployment directly. A changed template replaces every pod at once (the Recreate strategy).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lab.controllers.objects import TEMPLATE_HASH_LABEL, DeploymentView, PodView

_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def template_hash(template: str) -> str:
    """The pod-template-hash of a template given as canonical JSON."""
    value = _FNV_OFFSET
    for byte in template.encode():
        value = ((value ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return "".join(_SAFE_ALPHABET[ord(digit) % len(_SAFE_ALPHABET)] for digit in str(value))


def pod_body(deployment: DeploymentView, pod_hash: str) -> dict[str, Any]:
    """A new pod of the Deployment (the API server completes its name from generateName)."""
    template = json.loads(deployment.template)
    metadata = template.get("metadata") or {}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": f"{deployment.name}-{pod_hash}-",
            "namespace": deployment.namespace,
            "labels": {**(metadata.get("labels") or {}), TEMPLATE_HASH_LABEL: pod_hash},
            "annotations": dict(metadata.get("annotations") or {}),
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": deployment.name,
                    "uid": deployment.uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": template.get("spec") or {},
    }


@dataclass(frozen=True, slots=True)
class Plan:
    create: int
    delete: tuple[str, ...]
    """Names of pods to delete: of an old template, or beyond the replica count."""


def plan(deployment: DeploymentView, owned: Sequence[PodView], pending_creates: int) -> Plan:
    """What to do given the pods the Deployment owns and the creations not yet seen."""
    pod_hash = template_hash(deployment.template)
    current = [pod for pod in owned if pod.template_hash == pod_hash]
    old = [pod.name for pod in owned if pod.template_hash != pod_hash]
    have = len(current) + pending_creates
    if have <= deployment.replicas:
        return Plan(create=deployment.replicas - have, delete=tuple(old))
    # Scale down: unscheduled and unready pods go first (then by name, for a stable choice).
    extra = sorted(current, key=lambda pod: (bool(pod.node_name), pod.ready, pod.name))
    surplus = min(have - deployment.replicas, len(current))
    return Plan(create=0, delete=(*old, *(pod.name for pod in extra[:surplus])))


def status(deployment: DeploymentView, owned: Sequence[PodView], pending_creates: int) -> dict[str, Any]:
    """The Deployment's status as `kubectl get deployments` reads it."""
    pod_hash = template_hash(deployment.template)
    ready = sum(1 for pod in owned if pod.ready)
    updated = sum(1 for pod in owned if pod.template_hash == pod_hash) + pending_creates
    total = len(owned) + pending_creates
    available = ready >= deployment.replicas
    return {
        "observedGeneration": deployment.generation,
        "replicas": total,
        "updatedReplicas": updated,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "unavailableReplicas": max(total - ready, 0),
        "conditions": [
            {
                "type": "Available",
                "status": "True" if available else "False",
                "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                "message": "Deployment has minimum availability."
                if available
                else "Deployment does not have minimum availability.",
            }
        ],
    }
