"""Waiting for the lab to get somewhere: nodes Ready, a file's pods Running, and failing early
with the reason when it cannot (a lab process died, a pod failed to start).

`progress_of_*` are pure: given objects as the API returns them they say whether the object is
done, failed (and why), or still on its way (and where it is).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
    return Progress(False, f"{status.get('readyReplicas') or 0}/{wanted} ready")


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
