"""Which endpoints serve a Service port, as kube-proxy chooses them (pure).

The endpoints of a port are those of every EndpointSlice of the Service whose port has the same
name and protocol, at the slice's port number (that is how a named targetPort reaches the
proxy: resolved per pod by the EndpointSlice controller). Cluster endpoints are the ready ones;
when none is ready, the serving ones that are terminating (so connections still land while a
rollout drains). Local endpoints are chosen the same way among those on this node.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address

from agent.proxy.model import Endpoint, EndpointSlice, ServicePort


@dataclass(frozen=True, slots=True)
class PortEndpoint:
    ip: IPv4Address
    port: int
    endpoint: Endpoint


def port_endpoints(port: ServicePort, slices: Iterable[EndpointSlice]) -> list[PortEndpoint]:
    """The endpoints of one Service port, one per (address, port), sorted; a ready duplicate
    (the same pod in two slices while they change) wins over a not-ready one."""
    found: dict[tuple[IPv4Address, int], PortEndpoint] = {}
    for slice_ in slices:
        for slice_port in slice_.ports:
            if slice_port.name != port.name or slice_port.protocol != port.protocol:
                continue
            for endpoint in slice_.endpoints:
                key = (endpoint.ip, slice_port.port)
                old = found.get(key)
                if old is None or (endpoint.ready and not old.endpoint.ready):
                    found[key] = PortEndpoint(endpoint.ip, slice_port.port, endpoint)
    return [found[key] for key in sorted(found)]


def _usable(candidates: list[PortEndpoint]) -> list[PortEndpoint]:
    ready = [e for e in candidates if e.endpoint.ready]
    if ready:
        return ready
    return [e for e in candidates if e.endpoint.serving and e.endpoint.terminating]


def categorize(endpoints: list[PortEndpoint], node: str) -> tuple[list[PortEndpoint], list[PortEndpoint]]:
    """(cluster endpoints, local endpoints) of a port, for node `node`."""
    return _usable(endpoints), _usable([e for e in endpoints if e.endpoint.node == node])
