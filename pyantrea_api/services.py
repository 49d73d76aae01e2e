"""What AntreaProxy programmed on a node, as the agent's API serves it and its readers read it.

`GET /api/v1/services` of an agent answers a list of `ProgrammedService`: each Service the
proxy implements, with, per port, the endpoints its groups send to (all of them, and this
node's own when a traffic policy is Local) and the group ids. `pyantctl get services` and the
controller's `GET /api/v1/services` (the dashboard's Services) read it with `from_json`, which
raises `ServicesError` naming the bad field.

    {"namespace": "web", "name": "api", "clusterIPs": ["10.96.0.50"], "externalIPs": [],
     "sessionAffinityTimeout": null, "externalTrafficPolicyLocal": false,
     "internalTrafficPolicyLocal": false,
     "ports": [{"name": "http", "protocol": "TCP", "port": 80, "node_port": null,
                "cluster_endpoints": ["172.16.0.4:8080"], "local_endpoints": [],
                "cluster_group": 1, "local_group": null}]}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyantrea_api.jsonfields import Fields

SERVICES_PATH = "/api/v1/services"


class ServicesError(ValueError):
    """A document of programmed Services with a bad field."""


_read = Fields(ServicesError)


@dataclass(frozen=True, slots=True)
class ProgrammedPort:
    """What the datapath does with one Service port on a node."""

    name: str
    protocol: str
    port: int
    node_port: int | None
    cluster_endpoints: tuple[str, ...]
    """`ip:port` of every endpoint the cluster-wide group sends to."""
    local_endpoints: tuple[str, ...]
    """`ip:port` of the node's own endpoints (a Local traffic policy's group)."""
    cluster_group: int | None
    local_group: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "protocol": self.protocol,
            "port": self.port,
            "node_port": self.node_port,
            "cluster_endpoints": list(self.cluster_endpoints),
            "local_endpoints": list(self.local_endpoints),
            "cluster_group": self.cluster_group,
            "local_group": self.local_group,
        }

    @classmethod
    def from_json(cls, body: Any, path: str) -> ProgrammedPort:
        return cls(
            _read.required(body, "name", str, path),
            _read.required(body, "protocol", str, path),
            _read.required(body, "port", int, path),
            _read.optional(body, "node_port", int, path),
            tuple(_read.strings(body, "cluster_endpoints", path)),
            tuple(_read.strings(body, "local_endpoints", path)),
            _read.optional(body, "cluster_group", int, path),
            _read.optional(body, "local_group", int, path),
        )


@dataclass(frozen=True, slots=True)
class ProgrammedService:
    """A Service as AntreaProxy programmed it on a node."""

    namespace: str
    name: str
    cluster_ips: tuple[str, ...]
    external_ips: tuple[str, ...]
    """externalIPs and LoadBalancer ingress IPs."""
    affinity_timeout: int | None
    external_local: bool
    internal_local: bool
    ports: tuple[ProgrammedPort, ...]

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def to_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "clusterIPs": list(self.cluster_ips),
            "externalIPs": list(self.external_ips),
            "sessionAffinityTimeout": self.affinity_timeout,
            "externalTrafficPolicyLocal": self.external_local,
            "internalTrafficPolicyLocal": self.internal_local,
            "ports": [port.to_json() for port in self.ports],
        }

    @classmethod
    def from_json(cls, body: Any, path: str = "") -> ProgrammedService:
        return cls(
            _read.required(body, "namespace", str, path),
            _read.required(body, "name", str, path),
            tuple(_read.strings(body, "clusterIPs", path)),
            tuple(_read.strings(body, "externalIPs", path)),
            _read.optional(body, "sessionAffinityTimeout", int, path),
            _read.required(body, "externalTrafficPolicyLocal", bool, path),
            _read.required(body, "internalTrafficPolicyLocal", bool, path),
            _read.items(body, "ports", ProgrammedPort.from_json, path),
        )


def services_from_json(body: Any, where: str = "") -> list[ProgrammedService]:
    """An agent's answer to GET /api/v1/services; `where` prefixes the field paths of errors."""
    if not isinstance(body, list):
        raise ServicesError(f"{where or 'the answer'} must be a list of Services, got {body!r}")
    return [ProgrammedService.from_json(item, f"{where}[{index}]") for index, item in enumerate(body)]
