"""Pod and Node status as a kubelet writes it: phase, conditions, container states, node info.

Pure functions of what the kubelet knows; the caller merges the result into the object's
`status` with a merge patch (lists are replaced whole, so each function writes them whole; a
None removes a field). A pod that is not running says why in `status.reason` and
`status.message`.
Condition reasons are the ones `kubectl` users know: a sandbox that could not be created is
`FailedCreatePodSandBox` with the network plugin's message; a server that would not start is
the container's `Error`.
"""

from __future__ import annotations

import datetime
import os
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lab.kubelet.pods import PodView

KUBELET_VERSION = "v1.37.0-pyantrea-lab"
RUNTIME_VERSION = "pyantrea-lab://0.1.0"

SANDBOX_FAILED = "FailedCreatePodSandBox"
"""Reason of a pod whose sandbox (network namespace and CNI ADD) could not be made."""
SERVER_FAILED = "ServerFailed"
"""Reason of a pod whose server could not listen on its ports, or ended."""
NETWORK_NOT_READY = "NetworkNotReady"
"""Reason of a pod waiting for the node's network plugin (CNI "try again later")."""
UNSUPPORTED = "Unsupported"
"""Reason of a pod the lab cannot run (hostNetwork)."""
FAILURE_REASONS = frozenset({SANDBOX_FAILED, SERVER_FAILED, UNSUPPORTED})


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _condition(kind: str, ok: bool, at: str, reason: str = "", message: str = "") -> dict[str, Any]:
    condition: dict[str, Any] = {"type": kind, "status": "True" if ok else "False", "lastTransitionTime": at}
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


def running(
    pod: PodView,
    *,
    pod_ip: str,
    host_ip: str,
    container_id: str,
    started_at: str,
    containers_started: Mapping[str, str],
    restarts: Mapping[str, int],
) -> dict[str, Any]:
    """Every container ready and running; `restarts` and `containers_started` by container name."""
    at = now()
    return {
        "phase": "Running",
        "reason": None,
        "message": None,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": started_at,
        "conditions": [
            _condition("PodReadyToStartContainers", True, at),
            _condition("Initialized", True, at),
            _condition("Ready", True, at),
            _condition("ContainersReady", True, at),
            _condition("PodScheduled", True, at),
        ],
        "containerStatuses": [
            {
                "name": container.name,
                "image": container.image,
                "imageID": "",
                "containerID": f"pyantrea-lab://{container_id}",
                "ready": True,
                "started": True,
                "restartCount": restarts.get(container.name, 0),
                "state": {"running": {"startedAt": containers_started.get(container.name, started_at)}},
            }
            for container in pod.containers
        ],
    }


def waiting(
    pod: PodView, *, host_ip: str, reason: str, message: str, restarts: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """Not running: the sandbox or the server is not (yet) there, for `reason`."""
    at = now()
    sandbox_ready = reason == SERVER_FAILED
    container_reason = "Error" if reason == SERVER_FAILED else "ContainerCreating"
    not_ready = "ContainersNotReady"
    names = ", ".join(container.name for container in pod.containers)
    return {
        "phase": "Pending",
        "reason": reason,
        "message": message,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "conditions": [
            _condition(
                "PodReadyToStartContainers", sandbox_ready, at, "" if sandbox_ready else reason, message
            ),
            _condition("Initialized", True, at),
            _condition("Ready", False, at, not_ready, f"containers with unready status: [{names}]"),
            _condition("ContainersReady", False, at, not_ready, f"containers with unready status: [{names}]"),
            _condition("PodScheduled", True, at),
        ],
        "containerStatuses": [
            {
                "name": container.name,
                "image": container.image,
                "imageID": "",
                "ready": False,
                "started": False,
                "restartCount": (restarts or {}).get(container.name, 0),
                "state": {"waiting": {"reason": container_reason, "message": f"{reason}: {message}"}},
            }
            for container in pod.containers
        ],
    }


def node_object(name: str, ip: str) -> dict[str, Any]:
    """The Node a kubelet registers: its name, addresses and what pods may use of the machine.
    Its pod subnet comes later, from the controller manager's node IPAM."""
    capacity = {"cpu": str(os.cpu_count() or 1), "memory": f"{_memory_kib()}Ki", "pods": "110"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}},
        "status": {
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
            "capacity": capacity,
            "allocatable": capacity,
            **node(ready=False, message="kubelet is starting"),
        },
    }


def _memory_kib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return 0


def node(*, ready: bool, message: str) -> dict[str, Any]:
    """The Node's Ready condition and what the kubelet knows of the machine."""
    at = now()
    uname = platform.uname()
    return {
        "conditions": [
            {
                **_condition("Ready", ready, at, "KubeletReady" if ready else "KubeletNotReady", message),
                "lastHeartbeatTime": at,
            }
        ],
        "nodeInfo": {
            "kubeletVersion": KUBELET_VERSION,
            "containerRuntimeVersion": RUNTIME_VERSION,
            "kernelVersion": uname.release,
            "osImage": _os_image(),
            "operatingSystem": "linux",
            "architecture": {"x86_64": "amd64", "aarch64": "arm64"}.get(uname.machine, uname.machine),
            "machineID": "",
            "systemUUID": "",
            "bootID": "",
            "kubeProxyVersion": "",
        },
    }


def _os_image() -> str:
    try:
        lines = Path("/etc/os-release").read_text().splitlines()
    except OSError:
        return os.uname().sysname
    fields = dict(line.split("=", 1) for line in lines if "=" in line)
    return fields.get("PRETTY_NAME", "Linux").strip('"')
