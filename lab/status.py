"""`pyantctl lab status`: the lab's processes and nodes, from its record and its API.

Program states come from the record and the state files of their supervisors (lab.programs:
current pid, running, restarts, last exit); node readiness and pod counts from the API, when it
answers (else `apiError` says why and readiness is unknown).
"""

from __future__ import annotations

from typing import Any

from lab.layout import LabLayout
from lab.programs import program
from lab.record import LabRecord, ProcessRecord
from lab.up import CONTROLLER_API_PORT, controller_progress
from lab.waiting import progress_of_node
from pyantrea_kube.printing import format_table
from pyantrea_kube.resources import NODES, PODS
from pyantrea_kube.rest import RestClient

CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")


def _process(record: ProcessRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    now = program(record)
    return {
        "pid": now.pid,
        "running": now.running,
        "restarts": now.restarts,
        "state": now.state,
        "lastExit": now.last_exit,
        "supervisor": {"pid": now.supervisor_pid, "running": now.supervisor_running},
        "log": record.log,
    }


def _controller(record: LabRecord) -> dict[str, Any]:
    node = record.nodes[0]
    progress = controller_progress(record)
    return {
        "node": node.name,
        "address": f"{node.address.split('/')[0]}:{CONTROLLER_API_PORT}",
        "process": _process(record.process("controller", node.name)),
        "ready": progress.done,
        "condition": progress.state,
    }


def lab_status(
    layout: LabLayout, record: LabRecord, rest: RestClient | None, api_error: str = ""
) -> dict[str, Any]:
    """The status document (`-o json`); `rest` None when the API could not be reached."""
    nodes: dict[str, dict[str, Any]] = {}
    pods: dict[str, int] = {}
    if rest is not None:
        nodes = {node["metadata"]["name"]: node for node in rest.list(NODES).items}
        for pod in rest.list(PODS).items:
            name = (pod.get("spec") or {}).get("nodeName") or ""
            pods[name] = pods.get(name, 0) + 1
    document: dict[str, Any] = {
        "directory": str(layout.root),
        "prefix": record.prefix,
        "tunnel": record.tunnel,
        "state": record.state,
        "api": {
            "url": record.api_url,
            "kubeconfig": str(layout.kubeconfig),
            "netns": record.underlay,
            "process": _process(record.process("kube-apiserver")),
        },
        "controlPlane": {role: _process(record.process(role)) for role in CONTROL_PLANE},
        "apiForward": _process(record.process("apiforward")),
        "kubectlKubeconfig": str(layout.kubectl_kubeconfig),
        "controller": _controller(record),
        "nodes": [],
    }
    if api_error:
        document["apiError"] = api_error
    for node in record.nodes:
        obj = nodes.get(node.name)
        progress = progress_of_node(obj) if obj is not None else None
        document["nodes"].append(
            {
                "name": node.name,
                "netns": node.netns,
                "address": node.address,
                "podCIDR": node.pod_cidr,
                "ready": None if progress is None else progress.done,
                "condition": "unknown" if progress is None else progress.state,
                "pods": pods.get(node.name, 0) if rest is not None else None,
                "agent": _process(record.process("agent", node.name)),
                "kubelet": _process(record.process("kubelet", node.name)),
                "ovs": {
                    daemon: _process(record.process(daemon, node.name))
                    for daemon in ("ovsdb-server", "ovs-vswitchd")
                },
            }
        )
    return document


def _state(process: dict[str, Any] | None) -> str:
    if process is None:
        return "not started"
    restarts = process["restarts"]
    count = f", {restarts} restart{'s' if restarts != 1 else ''}" if restarts else ""
    if process["running"]:
        text = f"running ({process['pid']}{count})"
    elif process["state"] == "waiting" and process["supervisor"]["running"]:
        text = f"restarting (last exit: {process['lastExit']}{count})"
    else:
        text = f"NOT RUNNING ({process['lastExit'] or 'gone'}{count})"
    return text if process["supervisor"]["running"] else f"{text}, UNSUPERVISED"


def render_status(document: dict[str, Any]) -> str:
    controller = document["controller"]
    lines = [
        f"Lab {document['prefix']!r} in {document['directory']}: {len(document['nodes'])} nodes, "
        f"{document['tunnel']} tunnels, {document['state']}",
        f"API server    {document['api']['url']} (kube-apiserver, in namespace "
        f"{document['api']['netns']}): {_state(document['api']['process'])}",
        f"              kubeconfig {document['api']['kubeconfig']}",
        *(f"{role:<24}{_state(process)}" for role, process in document["controlPlane"].items()),
        f"kubectl       KUBECONFIG={document['kubectlKubeconfig']} (through the forwarder on the host's "
        f"loopback: {_state(document['apiForward'])})",
        f"controller    pyantrea-controller on {controller['node']} at {controller['address']}: "
        f"{_state(controller['process'])}, {controller['condition']}",
    ]
    if "apiError" in document:
        lines.append(f"API error     {document['apiError']}")
    rows = [["NODE", "STATUS", "ADDRESS", "POD SUBNET", "NAMESPACE", "PODS", "AGENT", "KUBELET", "OVS"]]
    for node in document["nodes"]:
        ovs = node["ovs"].values()
        ovs_state = "running" if all(p is not None and p["running"] for p in ovs) else "NOT RUNNING"
        ovs_restarts = sum(p["restarts"] for p in ovs if p is not None)
        if ovs_restarts:
            ovs_state += f" ({ovs_restarts} restart{'s' if ovs_restarts != 1 else ''})"
        status = "unknown" if node["ready"] is None else ("Ready" if node["ready"] else "NotReady")
        rows.append(
            [
                node["name"], status, node["address"], node["podCIDR"], node["netns"],
                "?" if node["pods"] is None else str(node["pods"]),
                _state(node["agent"]), _state(node["kubelet"]), ovs_state,
            ]
        )  # fmt: skip
    return "\n".join(lines) + "\n\n" + format_table(rows)
