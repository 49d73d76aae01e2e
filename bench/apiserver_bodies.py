"""A scenario's objects as a kube-apiserver serves them: JSON list bodies, as bytes.

Each object is rendered the way the API server returns it after it was created by a client and,
for pods, scheduled and started: the fields the scenario sets (`bench.test_controlplane_scale`),
the defaults the API server fills in, the metadata it adds (uid, resourceVersion,
creationTimestamp, generation, managedFields for each writer) and the status the kubelet
reports. The controller's informers decode all of it and keep only what the computation needs,
so the decoding cost is the real one.

    python -m bench.apiserver_bodies xlarge_small_namespaces 0.1 DIR

writes the scenario (here a tenth of it) as `DIR/<resource>.json`, a `v1` List of the same
objects as a client creates them (`manifests`), for loading into a real API server.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.test_controlplane_scale import SCENARIOS, Inputs
from controlplane.compute.inputs import Direction, NetworkPolicy, Pod, PolicyPeer
from controlplane.compute.labels import LabelSelector, Operator
from pyantrea_api.ipnet import format_ip

CREATED = "2026-12-01T09:00:00Z"
STARTED = "2026-12-01T09:00:04Z"
PAUSE_DIGEST = (
    "registry.k8s.io/pause@sha256:" + "ee6521f290b2168b6e0935a181d4cff9be1ac3f505666ef0e3c98fae8199917a"
)


PATHS = {
    "namespaces": "/api/v1/namespaces",
    "nodes": "/api/v1/nodes",
    "pods": "/api/v1/pods",
    "networkpolicies": "/apis/networking.k8s.io/v1/networkpolicies",
}


def _managed(manager: str, operation: str, api_version: str, fields: dict[str, Any], **extra: Any) -> dict:
    return {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": CREATED,
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
        **extra,
    }


def _meta(name: str, uid: str, rv: int, labels: dict[str, str], namespace: str | None = None) -> dict:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta |= {"uid": uid, "resourceVersion": str(rv), "creationTimestamp": CREATED}
    if labels:
        meta["labels"] = labels
    return meta


def _uid(kind: int, i: int) -> str:
    return f"{kind:08x}-{i >> 32 & 0xFFFF:04x}-4{i >> 16 & 0xFFF:03x}-8{i & 0xFFF:03x}-{i:012x}"


def _label_fields(labels: dict[str, str]) -> dict[str, Any]:
    return {"f:metadata": {"f:labels": {".": {}, **{f"f:{k}": {} for k in labels}}}} if labels else {}


def namespace_json(name: str, labels: dict[str, str], i: int, rv: int) -> dict[str, Any]:
    labels = {"kubernetes.io/metadata.name": name, **labels}
    meta = _meta(name, _uid(1, i), rv, labels)
    meta["managedFields"] = [_managed("kubectl-create", "Update", "v1", _label_fields(labels))]
    return {
        "metadata": meta,
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def node_json(name: str, i: int, rv: int) -> dict[str, Any]:
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
    }
    meta = _meta(name, _uid(2, i), rv, labels)
    meta["annotations"] = {"node.alpha.kubernetes.io/ttl": "0"}
    meta["managedFields"] = [_managed("kubelet", "Update", "v1", _label_fields(labels))]
    address = f"172.16.{i >> 8 & 0xFF}.{i & 0xFF}"
    return {
        "metadata": meta,
        "spec": {
            "podCIDR": f"10.{i >> 8 & 0xFF}.{i & 0xFF}.0/24",
            "podCIDRs": [f"10.{i >> 8 & 0xFF}.{i & 0xFF}.0/24"],
        },
        "status": {
            "capacity": {
                "cpu": "8",
                "memory": "32827436Ki",
                "pods": "110",
                "ephemeral-storage": "101430960Ki",
            },
            "allocatable": {
                "cpu": "8",
                "memory": "32725036Ki",
                "pods": "110",
                "ephemeral-storage": "93478772582",
            },
            "conditions": [
                {
                    "type": kind,
                    "status": "False" if kind != "Ready" else "True",
                    "lastHeartbeatTime": STARTED,
                    "lastTransitionTime": CREATED,
                    "reason": reason,
                    "message": message,
                }
                for kind, reason, message in (
                    (
                        "MemoryPressure",
                        "KubeletHasSufficientMemory",
                        "kubelet has sufficient memory available",
                    ),
                    ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                    ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                    ("Ready", "KubeletReady", "kubelet is posting ready status"),
                )
            ],
            "addresses": [{"type": "InternalIP", "address": address}, {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": f"{i:032x}",
                "systemUUID": _uid(2, i),
                "bootID": _uid(3, i),
                "kernelVersion": "6.1.0-27-amd64",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "containerRuntimeVersion": "containerd://1.7.24",
                "kubeletVersion": "v1.37.2",
                "kubeProxyVersion": "",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }


def pod_json(pod: Pod, i: int, rv: int) -> dict[str, Any]:
    labels = dict(pod.labels)
    meta = _meta(pod.name, _uid(4, i), rv, labels, pod.namespace)
    ips = [format_ip(ip) for ip in pod.ips]
    meta["managedFields"] = [
        _managed(
            "kubectl-create",
            "Update",
            "v1",
            {
                **_label_fields(labels),
                "f:spec": {
                    "f:containers": {
                        'k:{"name":"container-1"}': {
                            ".": {},
                            "f:image": {},
                            "f:imagePullPolicy": {},
                            "f:name": {},
                            "f:resources": {},
                            "f:terminationMessagePath": {},
                            "f:terminationMessagePolicy": {},
                        }
                    },
                    "f:dnsPolicy": {},
                    "f:enableServiceLinks": {},
                    "f:restartPolicy": {},
                    "f:schedulerName": {},
                    "f:securityContext": {},
                    "f:terminationGracePeriodSeconds": {},
                },
            },
        ),
        _managed(
            "kubelet",
            "Update",
            "v1",
            {
                "f:status": {
                    "f:conditions": {
                        f'k:{{"type":"{kind}"}}': {
                            ".": {},
                            "f:lastProbeTime": {},
                            "f:lastTransitionTime": {},
                            "f:status": {},
                            "f:type": {},
                        }
                        for kind in ("ContainersReady", "Initialized", "PodReadyToStartContainers", "Ready")
                    },
                    "f:containerStatuses": {},
                    "f:hostIP": {},
                    "f:hostIPs": {},
                    "f:phase": {},
                    "f:podIP": {},
                    "f:podIPs": {".": {}, **{f'k:{{"ip":"{ip}"}}': {".": {}, "f:ip": {}} for ip in ips}},
                    "f:startTime": {},
                }
            },
            subresource="status",
        ),
    ]
    node = int(pod.node_name.rsplit("-", 1)[1])
    host_ip = f"172.16.{node >> 8 & 0xFF}.{node & 0xFF}"
    return {
        "metadata": meta,
        "spec": {
            "volumes": [
                {
                    "name": "kube-api-access",
                    "projected": {
                        "sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                            {
                                "configMap": {
                                    "name": "kube-root-ca.crt",
                                    "items": [{"key": "ca.crt", "path": "ca.crt"}],
                                }
                            },
                        ],
                        "defaultMode": 420,
                    },
                }
            ],
            "containers": [
                {
                    "name": "container-1",
                    "image": "registry.k8s.io/pause:3.10",
                    "resources": {},
                    "volumeMounts": [
                        {
                            "name": "kube-api-access",
                            "readOnly": True,
                            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                        }
                    ],
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "imagePullPolicy": "IfNotPresent",
                }
            ],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default",
            "serviceAccount": "default",
            "nodeName": pod.node_name,
            "hostNetwork": pod.host_network,
            "securityContext": {},
            "schedulerName": "default-scheduler",
            "tolerations": [
                {
                    "key": f"node.kubernetes.io/{taint}",
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 300,
                }
                for taint in ("not-ready", "unreachable")
            ],
            "priority": 0,
            "enableServiceLinks": True,
            "preemptionPolicy": "PreemptLowerPriority",
        },
        "status": {
            "phase": pod.phase.value,
            "conditions": [
                {"type": kind, "status": "True", "lastProbeTime": None, "lastTransitionTime": STARTED}
                for kind in (
                    "PodReadyToStartContainers",
                    "Initialized",
                    "Ready",
                    "ContainersReady",
                    "PodScheduled",
                )
            ],
            "hostIP": host_ip,
            "hostIPs": [{"ip": host_ip}],
            "podIP": ips[0] if ips else "",
            "podIPs": [{"ip": ip} for ip in ips],
            "startTime": CREATED,
            "containerStatuses": [
                {
                    "name": "container-1",
                    "state": {"running": {"startedAt": STARTED}},
                    "lastState": {},
                    "ready": True,
                    "restartCount": 0,
                    "image": "registry.k8s.io/pause:3.10",
                    "imageID": PAUSE_DIGEST,
                    "containerID": f"containerd://{i:064x}",
                    "started": True,
                }
            ],
            "qosClass": "BestEffort",
        },
    }


def selector_json(selector: LabelSelector) -> dict[str, Any]:
    """`matchLabels` for single-value `In` requirements, `matchExpressions` for the others."""
    match_labels: dict[str, str] = {}
    expressions = []
    for requirement in selector.requirements:
        if requirement.operator is Operator.IN and len(requirement.values) == 1:
            match_labels[requirement.key] = requirement.values[0]
        else:
            expression: dict[str, Any] = {"key": requirement.key, "operator": requirement.operator.value}
            if requirement.values:
                expression["values"] = list(requirement.values)
            expressions.append(expression)
    result: dict[str, Any] = {}
    if match_labels:
        result["matchLabels"] = match_labels
    if expressions:
        result["matchExpressions"] = expressions
    return result


def _peer_json(peer: PolicyPeer) -> dict[str, Any]:
    if peer.ip_block is not None:
        raise NotImplementedError("the scenarios have no ipBlock peers")
    result = {}
    if peer.pod_selector is not None:
        result["podSelector"] = selector_json(peer.pod_selector)
    if peer.namespace_selector is not None:
        result["namespaceSelector"] = selector_json(peer.namespace_selector)
    return result


def policy_json(policy: NetworkPolicy, rv: int) -> dict[str, Any]:
    meta = _meta(policy.name, policy.uid, rv, {}, policy.namespace)
    meta["generation"] = policy.generation
    spec: dict[str, Any] = {"podSelector": selector_json(policy.pod_selector)}
    if policy.ingress:
        spec["ingress"] = [{"from": [_peer_json(p) for p in rule.peers]} for rule in policy.ingress]
    if policy.egress:
        spec["egress"] = [{"to": [_peer_json(p) for p in rule.peers]} for rule in policy.egress]
    spec["policyTypes"] = [
        name for direction, name in ((Direction.IN, "Ingress"), (Direction.OUT, "Egress"))
        if direction in policy.policy_types
    ]  # fmt: skip
    meta["managedFields"] = [
        _managed(
            "kubectl-create",
            "Update",
            "networking.k8s.io/v1",
            {"f:spec": {"f:ingress": {}, "f:podSelector": {}, "f:policyTypes": {}}},
        )
    ]
    return {"metadata": meta, "spec": spec}


def _items(inputs: Inputs) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    rv = 1000
    namespaces = []
    for i, namespace in enumerate(inputs.namespaces):
        rv += 1
        namespaces.append(namespace_json(namespace.name, dict(namespace.labels), i, rv))
    yield "namespaces", namespaces
    nodes = []
    for i, node in enumerate(inputs.nodes):
        rv += 1
        nodes.append(node_json(node.name, i, rv))
    yield "nodes", nodes
    pods = []
    for i, pod in enumerate(inputs.pods):
        rv += 1
        pods.append(pod_json(pod, i, rv))
    yield "pods", pods
    policies = []
    for policy in inputs.policies:
        rv += 1
        policies.append(policy_json(policy, rv))
    yield "networkpolicies", policies


_KINDS = {
    "namespaces": ("v1", "NamespaceList"),
    "nodes": ("v1", "NodeList"),
    "pods": ("v1", "PodList"),
    "networkpolicies": ("networking.k8s.io/v1", "NetworkPolicyList"),
}


@dataclass(frozen=True, slots=True)
class ApiObjects:
    """Each list's items as JSON bytes (by collection path), at one resourceVersion."""

    items: dict[str, list[bytes]]
    resource_version: str

    def counts(self) -> dict[str, int]:
        return {resource: len(self.items[path]) for resource, path in PATHS.items()}

    def page(self, path: str, offset: int, limit: int | None) -> bytes:
        """The list response of `limit` items from `offset` (all of them when None), with the
        continue token (the next offset) when more follow."""
        items = self.items[path]
        end = len(items) if limit is None else min(len(items), offset + limit)
        resource = next(r for r, p in PATHS.items() if p == path)
        api_version, kind = _KINDS[resource]
        meta = f'"resourceVersion":"{self.resource_version}"'
        if end < len(items):
            meta += f',"continue":"{end}"'
        head = f'{{"kind":"{kind}","apiVersion":"{api_version}","metadata":{{{meta}}},"items":['
        return head.encode() + b",".join(items[offset:end]) + b"]}"


def api_objects(inputs: Inputs) -> ApiObjects:
    """The objects of these inputs as the API server serves them, at one resourceVersion."""
    items = {}
    total = 0
    for resource, objects in _items(inputs):
        items[PATHS[resource]] = [json.dumps(obj, separators=(",", ":")).encode() for obj in objects]
        total += len(objects)
    return ApiObjects(items, str(1000 + total))


def scenario_objects(scenario: str, scale: float = 1.0) -> ApiObjects:
    return api_objects(SCENARIOS[scenario](scale=scale))


_SERVER_SET = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields")


def manifests(inputs: Inputs) -> dict[str, dict[str, Any]]:
    """The objects as a client creates them (a `v1` List per resource): each with its apiVersion
    and kind, without what the API server sets; a pod keeps the status the kubelet would report,
    which the API server ignores on create (a loader writes it with the status subresource)."""
    lists = {}
    for resource, objects in _items(inputs):
        api_version, list_kind = _KINDS[resource]
        items = []
        for obj in objects:
            meta = {k: v for k, v in obj["metadata"].items() if k not in _SERVER_SET}
            items.append(
                {"apiVersion": api_version, "kind": list_kind[: -len("List")], **obj, "metadata": meta}
            )
        lists[resource] = {"apiVersion": "v1", "kind": "List", "items": items}
    return lists


if __name__ == "__main__":
    out = Path(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    written = manifests(SCENARIOS[sys.argv[1]](scale=float(sys.argv[2])))
    for resource, document in written.items():
        (out / f"{resource}.json").write_text(json.dumps(document))
    print(json.dumps({resource: len(document["items"]) for resource, document in written.items()}))
