"""Objects as `kubectl get` prints them: a table per kind, plain or `-o wide`.

Columns follow kubectl's printers for each kind, except that pods always show their IP and
node (the lab is about where pods are and how they reach each other). Ages use kubectl's
human durations (`5m47s`, `14m`, `2d3h`).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lab import kinds
from lab.kinds import Kind
from pyantrea_kube.printing import format_table, human_duration

Row = list[str]
Obj = Mapping[str, Any]


def age(obj: Obj, now: datetime.datetime) -> str:
    stamp = (obj.get("metadata") or {}).get("creationTimestamp")
    if not stamp:
        return "<unknown>"
    created = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    return human_duration((now - created).total_seconds())


def _conditions(obj: Obj) -> dict[str, str]:
    return {c.get("type", ""): c.get("status", "") for c in (obj.get("status") or {}).get("conditions") or ()}


def _selector(selector: Mapping[str, Any] | None) -> str:
    selector = selector or {}
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or ():
        values = ",".join(expression.get("values") or ())
        parts.append(f"{expression.get('key')} {expression.get('operator')} ({values})".replace(" ()", ""))
    return ",".join(parts) or "<none>"


def pod_status(pod: Obj) -> str:
    """kubectl's STATUS column: the phase, or the reason a container waits."""
    status = pod.get("status") or {}
    for container in status.get("containerStatuses") or ():
        waiting = (container.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason"):
            return str(waiting["reason"])
    return str(status.get("phase") or "Pending")


def _pod(pod: Obj, now: datetime.datetime, wide: bool) -> Row:
    status = pod.get("status") or {}
    containers = (pod.get("spec") or {}).get("containers") or ()
    statuses = status.get("containerStatuses") or ()
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(int(c.get("restartCount") or 0) for c in statuses)
    row = [
        pod["metadata"]["name"],
        f"{ready}/{len(containers)}",
        pod_status(pod),
        str(restarts),
        age(pod, now),
        status.get("podIP") or "<none>",
        (pod.get("spec") or {}).get("nodeName") or "<none>",
    ]
    return [*row, "<none>", "<none>"] if wide else row


def _node(node: Obj, now: datetime.datetime, wide: bool) -> Row:
    status = node.get("status") or {}
    ready = _conditions(node).get("Ready")
    state = "Ready" if ready == "True" else "NotReady"
    if (node.get("spec") or {}).get("unschedulable"):
        state += ",SchedulingDisabled"
    labels = node["metadata"].get("labels") or {}
    roles = ",".join(sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/")))
    info = status.get("nodeInfo") or {}
    row = [
        node["metadata"]["name"],
        state,
        roles or "<none>",
        age(node, now),
        info.get("kubeletVersion") or "",
    ]
    if not wide:
        return row
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or ()}
    return [
        *row,
        addresses.get("InternalIP") or "<none>",
        addresses.get("ExternalIP") or "<none>",
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


def _namespace(ns: Obj, now: datetime.datetime, wide: bool) -> Row:
    return [ns["metadata"]["name"], (ns.get("status") or {}).get("phase") or "Active", age(ns, now)]


def _service_ports(service: Obj) -> str:
    ports = []
    for port in (service.get("spec") or {}).get("ports") or ():
        text = str(port.get("port"))
        if port.get("nodePort"):
            text += f":{port['nodePort']}"
        ports.append(f"{text}/{port.get('protocol') or 'TCP'}")
    return ",".join(ports) or "<none>"


def _service(service: Obj, now: datetime.datetime, wide: bool) -> Row:
    spec = service.get("spec") or {}
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ()
    external = ",".join(i.get("ip") or i.get("hostname") or "" for i in ingress) or "<none>"
    row = [
        service["metadata"]["name"],
        spec.get("type") or "ClusterIP",
        spec.get("clusterIP") or "<none>",
        external,
        _service_ports(service),
        age(service, now),
    ]
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items())) or "<none>"
    return [*row, selector] if wide else row


def _endpoints(endpoints: Obj, now: datetime.datetime, wide: bool) -> Row:
    addresses = [
        f"{address.get('ip')}:{port.get('port')}"
        for subset in endpoints.get("subsets") or ()
        for address in subset.get("addresses") or ()
        for port in subset.get("ports") or [{}]
    ]
    return [endpoints["metadata"]["name"], ",".join(addresses) or "<none>", age(endpoints, now)]


def _network_policy(policy: Obj, now: datetime.datetime, wide: bool) -> Row:
    selector = (policy.get("spec") or {}).get("podSelector")
    return [policy["metadata"]["name"], _selector(selector), age(policy, now)]


def _cluster_network_policy(policy: Obj, now: datetime.datetime, wide: bool) -> Row:
    """The CRD's printer columns: tier, priority, age."""
    spec = policy.get("spec") or {}
    name = policy["metadata"]["name"]
    return [name, str(spec.get("tier", "")), str(spec.get("priority", "")), age(policy, now)]


def _deployment(deployment: Obj, now: datetime.datetime, wide: bool) -> Row:
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    row = [
        deployment["metadata"]["name"],
        f"{status.get('readyReplicas') or 0}/{spec.get('replicas', 1)}",
        str(status.get("updatedReplicas") or 0),
        str(status.get("availableReplicas") or 0),
        age(deployment, now),
    ]
    if not wide:
        return row
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or ()
    return [
        *row,
        ",".join(c.get("name", "") for c in containers),
        ",".join(c.get("image", "") for c in containers),
        _selector(spec.get("selector")),
    ]


_Printer = Callable[[Obj, datetime.datetime, bool], Row]
_TABLES: dict[str, tuple[Sequence[str], Sequence[str], _Printer]] = {
    kinds.POD.kind: (
        ("NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"),
        ("NOMINATED NODE", "READINESS GATES"),
        _pod,
    ),
    kinds.NODE.kind: (
        ("NAME", "STATUS", "ROLES", "AGE", "VERSION"),
        ("INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"),
        _node,
    ),
    kinds.NAMESPACE.kind: (("NAME", "STATUS", "AGE"), (), _namespace),
    kinds.SERVICE.kind: (
        ("NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"),
        ("SELECTOR",),
        _service,
    ),
    kinds.ENDPOINTS_KIND.kind: (("NAME", "ENDPOINTS", "AGE"), (), _endpoints),
    kinds.NETWORK_POLICY.kind: (("NAME", "POD-SELECTOR", "AGE"), (), _network_policy),
    kinds.CLUSTER_NETWORK_POLICY.kind: (("NAME", "TIER", "PRIORITY", "AGE"), (), _cluster_network_policy),
    kinds.DEPLOYMENT.kind: (
        ("NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"),
        ("CONTAINERS", "IMAGES", "SELECTOR"),
        _deployment,
    ),
}


def render(
    kind: Kind, objects: Sequence[Obj], *, wide: bool = False, all_namespaces: bool = False,
    now: datetime.datetime | None = None,
) -> str:  # fmt: skip
    """The table, columns padded as kubectl pads them (three spaces between columns)."""
    now = now or datetime.datetime.now(datetime.UTC)
    columns, wide_columns, printer = _TABLES[kind.kind]
    header = [*columns, *wide_columns] if wide else list(columns)
    rows = []
    for obj in objects:
        row = printer(obj, now, wide)
        rows.append([obj["metadata"].get("namespace", ""), *row] if all_namespaces else row)
    if all_namespaces:
        header = ["NAMESPACE", *header]
    return format_table([header, *rows])
