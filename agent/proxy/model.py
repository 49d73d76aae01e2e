"""Services and EndpointSlices as the proxy reads them, and their conversion from Kubernetes JSON.

Only what load balancing needs is kept. A Service the proxy must leave alone (ExternalName,
headless, another proxy's by `service.kubernetes.io/service-proxy-name`) converts to None, as
does an EndpointSlice of another address family or without its Service's name.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, ip_address
from typing import Any

from pyantrea_api.objects import Protocol

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
PROXY_NAME_LABEL = "service.kubernetes.io/service-proxy-name"
TRIGGER_TIME_ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time"
DEFAULT_AFFINITY_TIMEOUT = 10800


class ModelError(ValueError):
    """A Service or EndpointSlice the proxy cannot read; the message names the object and field."""


@dataclass(frozen=True, slots=True)
class ServicePort:
    name: str
    protocol: Protocol
    port: int
    node_port: int | None = None


@dataclass(frozen=True, slots=True)
class Service:
    """A Service the proxy implements (IPv4 addresses only)."""

    namespace: str
    name: str
    cluster_ips: tuple[IPv4Address, ...] = ()
    ports: tuple[ServicePort, ...] = ()
    external_ips: tuple[IPv4Address, ...] = ()
    load_balancer_ips: tuple[IPv4Address, ...] = ()
    affinity_timeout: int | None = None
    """ClientIP session affinity timeout in seconds; None: no affinity."""
    external_local: bool = False
    """externalTrafficPolicy: Local (NodePort and LoadBalancer Services)."""
    internal_local: bool = False
    """internalTrafficPolicy: Local."""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Endpoint:
    ip: IPv4Address
    node: str | None = None
    ready: bool = True
    serving: bool = True
    terminating: bool = False


@dataclass(frozen=True, slots=True)
class SlicePort:
    name: str
    protocol: Protocol
    port: int


@dataclass(frozen=True, slots=True)
class EndpointSlice:
    namespace: str
    name: str
    service: str
    ports: tuple[SlicePort, ...] = ()
    endpoints: tuple[Endpoint, ...] = ()
    trigger_time: float | None = None
    """The `last-change-trigger-time` annotation (seconds since the epoch)."""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def service_key(self) -> str:
        return f"{self.namespace}/{self.service}"


# -- Kubernetes JSON --------------------------------------------------------------------------------


def _where(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind', 'object')} {meta.get('namespace', '')}/{meta.get('name', '?')}"


def _ipv4s(values: Any, what: str, where: str) -> tuple[IPv4Address, ...]:
    result = []
    for value in values or ():
        try:
            ip = ip_address(value)
        except ValueError:
            raise ModelError(f"{where}: {what} {value!r} is not an IP address") from None
        if isinstance(ip, IPv4Address):
            result.append(ip)
    return tuple(dict.fromkeys(result))


def _protocol(value: Any, where: str) -> Protocol:
    try:
        return Protocol(value or "TCP")
    except ValueError:
        raise ModelError(f"{where}: protocol {value!r} is not TCP, UDP or SCTP") from None


def _port(value: Any, what: str, where: str) -> int:
    if not isinstance(value, int) or not 1 <= value <= 65535:
        raise ModelError(f"{where}: {what} {value!r} is not a port number (1-65535)")
    return value


def service_from_json(obj: Mapping[str, Any]) -> Service | None:
    """A Kubernetes Service object as the proxy sees it; None if the proxy leaves it alone."""
    where = _where({"kind": "Service", **obj})
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    if (meta.get("labels") or {}).get(PROXY_NAME_LABEL):
        return None
    kind = spec.get("type") or "ClusterIP"
    if kind == "ExternalName":
        return None
    cluster_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    if not cluster_ips or cluster_ips[0] == "None":
        return None
    ports = []
    for raw in spec.get("ports") or ():
        node_port = raw.get("nodePort") if kind in ("NodePort", "LoadBalancer") else None
        ports.append(
            ServicePort(
                name=raw.get("name") or "",
                protocol=_protocol(raw.get("protocol"), where),
                port=_port(raw.get("port"), "port", where),
                node_port=None if node_port is None else _port(node_port, "nodePort", where),
            )
        )
    ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ()
    lb_ips = (
        [i["ip"] for i in ingress if i.get("ip") and i.get("ipMode") != "Proxy"]
        if kind == "LoadBalancer"
        else []
    )
    affinity = None
    if spec.get("sessionAffinity") == "ClientIP":
        config = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
        affinity = config.get("timeoutSeconds") or DEFAULT_AFFINITY_TIMEOUT
        if not isinstance(affinity, int) or affinity < 1:
            raise ModelError(
                f"{where}: sessionAffinityConfig timeoutSeconds {affinity!r} is not a positive integer"
            )
    return Service(
        namespace=meta.get("namespace") or "default",
        name=meta.get("name") or "",
        cluster_ips=_ipv4s(cluster_ips, "clusterIP", where),
        ports=tuple(ports),
        external_ips=_ipv4s(spec.get("externalIPs"), "externalIP", where),
        load_balancer_ips=_ipv4s(lb_ips, "load balancer ingress IP", where),
        affinity_timeout=affinity,
        external_local=spec.get("externalTrafficPolicy") == "Local" and kind in ("NodePort", "LoadBalancer"),
        internal_local=spec.get("internalTrafficPolicy") == "Local",
    )


def parse_trigger_time(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def slice_from_json(obj: Mapping[str, Any]) -> EndpointSlice | None:
    """A Kubernetes EndpointSlice as the proxy sees it; None for other address families or a
    slice that names no Service."""
    where = _where({"kind": "EndpointSlice", **obj})
    meta = obj.get("metadata") or {}
    service = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
    if obj.get("addressType") != "IPv4" or not service:
        return None
    ports = tuple(
        SlicePort(
            raw.get("name") or "", _protocol(raw.get("protocol"), where), _port(raw["port"], "port", where)
        )
        for raw in obj.get("ports") or ()
        if raw.get("port") is not None
    )
    endpoints = []
    for raw in obj.get("endpoints") or ():
        addresses = raw.get("addresses") or ()
        if not addresses:
            raise ModelError(f"{where}: an endpoint has no address")
        conditions = raw.get("conditions") or {}
        ready = conditions.get("ready")
        ready = True if ready is None else bool(ready)
        serving = conditions.get("serving")
        endpoints.append(
            Endpoint(
                ip=_ipv4s(addresses[:1], "endpoint address", where)[0],
                node=raw.get("nodeName"),
                ready=ready,
                serving=ready if serving is None else bool(serving),
                terminating=bool(conditions.get("terminating")),
            )
        )
    return EndpointSlice(
        namespace=meta.get("namespace") or "default",
        name=meta.get("name") or "",
        service=service,
        ports=ports,
        endpoints=tuple(endpoints),
        trigger_time=parse_trigger_time((meta.get("annotations") or {}).get(TRIGGER_TIME_ANNOTATION)),
    )
