"""Trimmed views of Kubernetes objects: the fields pyantrea reads, as frozen values.

Informers keep these instead of whole objects: they are small, they compare by value (so an
update that touches nothing pyantrea reads is not reported), and they keep raw JSON dicts from
crossing module boundaries. Each `trim_*` function takes the raw JSON of one object, as the API
sends it, and tolerates absent optional fields as the API's own defaults do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ContainerPort:
    """A port a pod's container declares; `name` is "" when unnamed."""

    port: int
    protocol: str
    name: str


@dataclass(frozen=True, slots=True)
class Pod:
    namespace: str
    name: str
    uid: str
    labels: Mapping[str, str]
    node_name: str
    host_network: bool
    pod_ips: tuple[str, ...]
    phase: str
    container_ports: tuple[ContainerPort, ...]


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str
    uid: str
    labels: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    uid: str
    labels: Mapping[str, str]
    pod_cidrs: tuple[str, ...]
    internal_ips: tuple[str, ...]


def object_key(obj: Mapping[str, Any]) -> str:
    """The informer key of a raw object: `namespace/name`, or `name` when cluster-scoped."""
    metadata = obj["metadata"]
    namespace = metadata.get("namespace")
    return f"{namespace}/{metadata['name']}" if namespace else metadata["name"]


def trim_pod(obj: Mapping[str, Any]) -> Pod:
    metadata = obj["metadata"]
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    pod_ips = tuple(entry["ip"] for entry in status.get("podIPs") or () if entry.get("ip"))
    if not pod_ips and status.get("podIP"):
        pod_ips = (status["podIP"],)
    ports = tuple(
        ContainerPort(int(port["containerPort"]), port.get("protocol") or "TCP", port.get("name") or "")
        for container in spec.get("containers") or ()
        for port in container.get("ports") or ()
    )
    return Pod(
        namespace=metadata.get("namespace", ""),
        name=metadata["name"],
        uid=metadata.get("uid", ""),
        labels=dict(metadata.get("labels") or {}),
        node_name=spec.get("nodeName") or "",
        host_network=bool(spec.get("hostNetwork")),
        pod_ips=pod_ips,
        phase=status.get("phase") or "",
        container_ports=ports,
    )


def trim_namespace(obj: Mapping[str, Any]) -> Namespace:
    metadata = obj["metadata"]
    labels = dict(metadata.get("labels") or {})
    return Namespace(name=metadata["name"], uid=metadata.get("uid", ""), labels=labels)


def trim_node(obj: Mapping[str, Any]) -> Node:
    metadata = obj["metadata"]
    spec = obj.get("spec") or {}
    addresses = (obj.get("status") or {}).get("addresses") or ()
    pod_cidrs = tuple(spec.get("podCIDRs") or ())
    if not pod_cidrs and spec.get("podCIDR"):
        pod_cidrs = (spec["podCIDR"],)
    return Node(
        name=metadata["name"],
        uid=metadata.get("uid", ""),
        labels=dict(metadata.get("labels") or {}),
        pod_cidrs=pod_cidrs,
        internal_ips=tuple(entry["address"] for entry in addresses if entry.get("type") == "InternalIP"),
    )
