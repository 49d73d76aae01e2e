"""Waiting for the lab to get somewhere: nodes Ready, a file's pods Running and policies
Realized, and failing early with the reason when it cannot (a lab process died, a pod failed to
start, a policy failed).

`progress_of_*` are pure: given objects as the API returns them they say whether the object is
done, failed (and why), or still on its way (and where it is).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from controlplane.compute.kubeparse import cluster_network_policy_from_k8s, network_policy_from_k8s
from controlplane.status.writer import ANNOTATION as REALIZATION_ANNOTATION
from lab.kubelet.status import FAILURE_REASONS
from lab.tables import pod_status

_POLL_SECONDS = 0.2


class WaitFailed(Exception):
    """What was waited for will not happen (the message says why), or not in time."""


@dataclass(frozen=True, slots=True)
class Progress:
    done: bool
    state: str
    """Where it is ("Running", "ContainerCreating on node2", ...), or why it failed."""
    failed: bool = False


def progress_of_node(node: Mapping[str, Any]) -> Progress:
    for condition in (node.get("status") or {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            if condition.get("status") == "True":
                return Progress(True, "Ready")
            return Progress(False, f"NotReady: {condition.get('message', '')}")
    return Progress(False, "NotReady: the kubelet has not reported yet")


def progress_of_pod(pod: Mapping[str, Any]) -> Progress:
    status = pod.get("status") or {}
    node = (pod.get("spec") or {}).get("nodeName")
    if not node:
        return Progress(False, "Pending: not scheduled to a node yet")
    reason = status.get("reason")
    if reason in FAILURE_REASONS:
        return Progress(
            False, f"failed to start on {node}: {reason}: {status.get('message', '')}", failed=True
        )
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or ()
    )
    if status.get("phase") == "Running" and ready:
        return Progress(True, "Running")
    detail = f" ({status['message']})" if status.get("message") else ""
    return Progress(False, f"{pod_status(pod)} on {node}{detail}")


def policy_span(policy: Mapping[str, Any], pods: Sequence[Mapping[str, Any]]) -> set[str]:
    """The nodes that need the policy: those of the pods it applies to (`pods`: the pods of its
    namespace), counted as the controller counts group members (scheduled, with an IP, not
    hostNetwork, not finished)."""
    selector = network_policy_from_k8s(policy).pod_selector  # as the controller reads it
    return {
        pod["spec"]["nodeName"]
        for pod in pods
        if _group_member(pod) and selector.matches(pod["metadata"].get("labels") or {})
    }


def _group_member(pod: Mapping[str, Any]) -> bool:
    """Whether the controller counts `pod` as a group member: scheduled, with an IP, not
    hostNetwork, not finished."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    return bool(
        spec.get("nodeName")
        and status.get("podIP")
        and not spec.get("hostNetwork")
        and status.get("phase") not in ("Succeeded", "Failed")
    )


def realization(policy: Mapping[str, Any]) -> dict[str, Any]:
    """pyantrea-controller's realization status of a NetworkPolicy: its annotation (Kubernetes'
    NetworkPolicy has no status), or the status an API server with one holds."""
    text = ((policy.get("metadata") or {}).get("annotations") or {}).get(REALIZATION_ANNOTATION)
    if text:
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if isinstance(document, dict):
            return document
    return dict(policy.get("status") or {})


def progress_of_policy(policy: Mapping[str, Any], span: set[str]) -> Progress:
    """Realized once the controller says the policy's current generation is installed on as many
    nodes as its `span` holds (pyantrea-controller's status: phase, nodes realized / desired). A
    Realized status for fewer nodes predates pods that arrived since: not done yet."""
    status = realization(policy)
    generation = int(policy["metadata"].get("generation") or 0)
    phase = status.get("phase") or "Pending"
    if phase == "Failed":
        return Progress(False, f"Failed: {status.get('message', '')}", failed=True)
    current, desired = (
        int(status.get("currentNodesRealized") or 0),
        int(status.get("desiredNodesRealized") or 0),
    )
    nodes = f"{current}/{desired} nodes"
    if int(status.get("observedGeneration") or 0) < generation:
        return Progress(False, f"Pending (generation {generation} not computed yet)")
    if phase == "Realized" and desired >= len(span):
        return Progress(True, f"Realized on {nodes}")
    if phase == "Realized":
        return Progress(False, f"Realized on {nodes}, waiting for the controller to see {len(span)} nodes")
    return Progress(False, f"{phase} ({nodes} realized)")


def cluster_policy_span(
    policy: Mapping[str, Any], namespaces: Sequence[Mapping[str, Any]], pods: Sequence[Mapping[str, Any]]
) -> set[str]:
    """The nodes that need a ClusterNetworkPolicy: those of its subject's pods (`pods`: every pod;
    `namespaces`: every namespace, whose labels the subject's namespace selector matches)."""
    parsed = cluster_network_policy_from_k8s(policy)  # as the controller reads it
    chosen = {
        ns["metadata"]["name"]
        for ns in namespaces
        if parsed.subject_namespace_selector.matches(ns["metadata"].get("labels") or {})
    }
    return {
        pod["spec"]["nodeName"]
        for pod in pods
        if _group_member(pod)
        and pod["metadata"]["namespace"] in chosen
        and parsed.subject_pod_selector.matches(pod["metadata"].get("labels") or {})
    }


_NODES_REALIZED = re.compile(r"(\d+)/(\d+) nodes")


def progress_of_cluster_policy(policy: Mapping[str, Any], span: set[str]) -> Progress:
    """Realized once its `Realized` condition is True for its current generation on as many
    nodes as `span` holds (the condition's message says how many: "Realized on 2/2 nodes")."""
    generation = int(policy["metadata"].get("generation") or 0)
    conditions = {c.get("type"): c for c in (policy.get("status") or {}).get("conditions") or []}
    realized = conditions.get("Realized")
    if realized is None or int(realized.get("observedGeneration") or 0) < generation:
        return Progress(False, f"Pending (generation {generation} not computed yet)")
    message = str(realized.get("message") or "")
    if realized.get("reason") == "Failed":
        return Progress(False, message, failed=True)
    counts = _NODES_REALIZED.search(message)
    desired = int(counts.group(2)) if counts else 0
    if realized.get("status") == "True" and desired >= len(span):
        return Progress(True, message)
    return Progress(False, message or str(realized.get("reason")))


def progress_of_deployment(deployment: Mapping[str, Any], pods: Sequence[Mapping[str, Any]]) -> Progress:
    """`pods`: the pods the Deployment owns."""
    for pod in pods:
        progress = progress_of_pod(pod)
        if progress.failed:
            return Progress(False, f"pod {pod['metadata']['name']} {progress.state}", failed=True)
    metadata, spec, status = (
        deployment["metadata"],
        deployment.get("spec") or {},
        deployment.get("status") or {},
    )
    wanted = int(spec.get("replicas", 1))
    observed = int(status.get("observedGeneration") or 0) >= int(metadata.get("generation") or 0)
    counts = (
        status.get("replicas") or 0,
        status.get("updatedReplicas") or 0,
        status.get("readyReplicas") or 0,
    )
    if observed and counts == (wanted, wanted, wanted) and len(pods) == wanted:
        return Progress(True, f"{wanted}/{wanted} ready")
    extra = f", {len(pods) - wanted} more pods not gone yet" if len(pods) > wanted else ""
    return Progress(False, f"{status.get('readyReplicas') or 0}/{wanted} ready{extra}")


def wait_for(
    check: Callable[[], dict[str, Progress]],
    *,
    timeout: float,
    what: str,
    healthy: Callable[[], None] = lambda: None,
) -> None:
    """Poll `check` (name -> progress) until everything is done; raises WaitFailed as soon as
    something failed or `healthy` raises it, or when `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        healthy()
        progress = check()
        failures = [f"{name}: {p.state}" for name, p in progress.items() if p.failed]
        if failures:
            raise WaitFailed("; ".join(failures))
        pending = {name: p for name, p in progress.items() if not p.done}
        if not pending:
            return
        if time.monotonic() > deadline:
            states = "; ".join(f"{name}: {p.state}" for name, p in pending.items())
            raise WaitFailed(f"{what} not ready after {timeout:.0f}s: {states}")
        time.sleep(_POLL_SECONDS)
