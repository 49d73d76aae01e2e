"""The trace contract between the controller and an agent, typed once for both sides.

The controller asks the agent of each node a packet crosses to trace it through its bridge, at
`POST /api/v1/trace` of the agent's API. The request names where the packet comes from and what
it is::

    {"source": {"pod": {"namespace": "web", "name": "client"}},
     "packet": {"protocol": "TCP", "dstIP": "172.16.2.3", "srcPort": 40000, "dstPort": 80}}

    {"source": {"tunnel": {"src": "192.168.77.1", "tunId": 0, "dlSrc": "0a:58:ac:10:01:01",
                           "dlDst": "aa:bb:cc:dd:ee:ff", "ttl": 63}},
     "packet": {"protocol": "TCP", "srcIP": "172.16.1.2", "dstIP": "172.16.2.3", ...}}

The controller builds it (`TraceRequest.to_json`), the agent reads it (`TraceRequest.from_json`,
which raises `TraceError` naming the bad field). The second form follows a hop whose packet
left through the tunnel: `from_tunnel` makes its source from the packet as that hop's answer
shows it leaving (`dl_src`, `dl_dst`, `nw_ttl`, `tun_id`). A request may pin the endpoint a
Service connection is sent to (`"endpoint": "172.16.1.5:8080"`).

The agent answers with a `HopTrace` (its JSON: `node`, `flow`, `ovsTrace`, `steps`, `policies`,
`verdict`, `reason`, `output`, `tunnelDestination`, `packet`, and `service` when the packet went
to a Service). A user asks the controller with a `TraceQuery` (`POST /api/v1/trace` of the
controller: `source`, `destination`, `protocol`, `port`, `sourcePort`, `endpoint`) and gets a
`ClusterTrace` (the hops, the verdict of the last). `pyantctl trace` and the dashboard read and
send exactly these; each `from_json` raises `TraceError` naming the bad field.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any

from pyantrea_api.jsonfields import Fields
from pyantrea_api.objects import Direction

TRACE_PATH = "/api/v1/trace"
"""Where an agent's API runs traces, and where the controller's API runs a cluster's."""
DEFAULT_SOURCE_PORT = 40000


class TraceError(ValueError):
    """The trace cannot be run as asked: a bad field, an unknown pod, an address no pod answers for."""


_read = Fields(TraceError)


class TraceProtocol(enum.StrEnum):
    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"
    ICMP = "ICMP"


@dataclass(frozen=True, slots=True)
class Packet:
    """The packet's addresses and ports; ICMP packets are echo requests and have no ports."""

    protocol: TraceProtocol
    src_ip: IPv4Address | None
    """None for a packet from a local pod: the pod's own address."""
    dst_ip: IPv4Address
    src_port: int
    dst_port: int

    def __post_init__(self) -> None:
        if self.protocol is not TraceProtocol.ICMP:
            for name, port in (("srcPort", self.src_port), ("dstPort", self.dst_port)):
                if not 1 <= port <= 65535:
                    raise TraceError(f"{name} must be 1..65535 for {self.protocol}, got {port}")


@dataclass(frozen=True, slots=True)
class FromPod:
    """The packet leaves a pod on the agent's node."""

    namespace: str
    name: str


@dataclass(frozen=True, slots=True)
class FromTunnel:
    """The packet arrives through the tunnel, as the sending node's trace left it."""

    tunnel_src: IPv4Address
    """The sending node's address."""
    tunnel_id: int
    dl_src: str
    dl_dst: str
    ttl: int


def from_tunnel(sender: IPv4Address, leaving: Mapping[str, Any]) -> FromTunnel:
    """The source of a packet arriving from node `sender`, whose trace answer showed it `leaving`
    (the `packet` of that answer: dl_src, dl_dst, nw_ttl and, when set, tun_id)."""
    return FromTunnel(
        sender,
        int(leaving.get("tun_id") or "0", 0),
        leaving["dl_src"],
        leaving["dl_dst"],
        int(leaving["nw_ttl"]),
    )


@dataclass(frozen=True, slots=True)
class TraceRequest:
    """One trace an agent runs: a packet from a local pod, or from the tunnel."""

    source: FromPod | FromTunnel
    packet: Packet
    endpoint: Endpoint | None = None
    """The Service endpoint to follow, when the packet goes to a Service (None: the agent's choice)."""

    def to_json(self) -> dict[str, Any]:
        packet = self.packet
        body: dict[str, Any] = {
            "protocol": packet.protocol.value,
            "dstIP": str(packet.dst_ip),
            "srcPort": packet.src_port,
            "dstPort": packet.dst_port,
        }
        if packet.src_ip is not None:
            body["srcIP"] = str(packet.src_ip)
        source = self.source
        if isinstance(source, FromPod):
            origin: dict[str, Any] = {"pod": {"namespace": source.namespace, "name": source.name}}
        else:
            origin = {
                "tunnel": {
                    "src": str(source.tunnel_src),
                    "tunId": source.tunnel_id,
                    "dlSrc": source.dl_src,
                    "dlDst": source.dl_dst,
                    "ttl": source.ttl,
                }
            }
        request = {"source": origin, "packet": body}
        if self.endpoint is not None:
            request["endpoint"] = str(self.endpoint)
        return request

    @classmethod
    def from_json(cls, body: Any) -> TraceRequest:
        """The request of a JSON body; raises TraceError naming the bad field."""
        protocol = _read.choice(
            TraceProtocol, _read.required(body, "packet.protocol", str).upper(), "packet.protocol"
        )
        ports = (0, 0)
        if protocol is not TraceProtocol.ICMP:
            ports = (_read.required(body, "packet.srcPort", int), _read.required(body, "packet.dstPort", int))
        source = _read.required(body, "source", dict)
        if "pod" in source:
            origin: FromPod | FromTunnel = FromPod(
                _read.required(body, "source.pod.namespace", str),
                _read.required(body, "source.pod.name", str),
            )
            src_ip = None
        elif "tunnel" in source:
            origin = FromTunnel(
                _read.address(body, "source.tunnel.src"),
                _read.required(body, "source.tunnel.tunId", int),
                _read.required(body, "source.tunnel.dlSrc", str),
                _read.required(body, "source.tunnel.dlDst", str),
                _read.required(body, "source.tunnel.ttl", int),
            )
            src_ip = _read.address(body, "packet.srcIP")
        else:
            raise TraceError("source must have a pod or a tunnel")
        endpoint = Endpoint.parse(body["endpoint"], "endpoint") if body.get("endpoint") is not None else None
        return cls(origin, Packet(protocol, src_ip, _read.address(body, "packet.dstIP"), *ports), endpoint)


# -- what the request may pin ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A Service endpoint: address and port (None: whichever port the Service sends to)."""

    ip: IPv4Address
    port: int | None = None

    def __str__(self) -> str:
        return str(self.ip) if self.port is None else f"{self.ip}:{self.port}"

    @classmethod
    def parse(cls, text: Any, name: str) -> Endpoint:
        """`IP` or `IP:PORT`; raises TraceError naming the field `name`."""
        if not isinstance(text, str):
            raise TraceError(f"{name} must be an endpoint as IP or IP:PORT, got {text!r}")
        address, _, port_text = text.partition(":")
        try:
            ip = IPv4Address(address)
            port = int(port_text) if port_text else None
        except ValueError:
            raise TraceError(f"{name} must be an endpoint as IP or IP:PORT, got {text!r}") from None
        if port is not None and not 1 <= port <= 65535:
            raise TraceError(f"{name} port must be 1..65535, got {port}")
        return cls(ip, port)

    def accepts(self, other: Endpoint) -> bool:
        """Whether `other` (an endpoint with its port) is this one (a pin may leave out the port)."""
        return self.ip == other.ip and (self.port is None or self.port == other.port)


# -- the agent's answer ---------------------------------------------------------------------------


class Verdict(enum.StrEnum):
    DELIVERED = "Delivered"
    """Output to a local pod's port."""
    TUNNELED = "Tunneled"
    """Output to the tunnel, towards another node."""
    TO_GATEWAY = "ToGateway"
    """Output to the gateway: to the node's host network."""
    DROPPED = "Dropped"
    REJECTED = "Rejected"
    """A Service without endpoints: the agent answers a TCP reset or an ICMP port unreachable."""
    FORWARDED = "Forwarded"
    """Output to a port that is none of the above."""


class PortRole(enum.StrEnum):
    POD = "pod"
    GATEWAY = "gateway"
    TUNNEL = "tunnel"


@dataclass(frozen=True, slots=True)
class Port:
    """What an OpenFlow port of br-int is."""

    ofport: int
    role: PortRole
    name: str
    """The interface name; for a pod, `namespace/name` of the pod."""

    def to_json(self) -> dict[str, Any]:
        return {"ofport": self.ofport, "role": self.role.value, "name": self.name}

    @classmethod
    def from_json(cls, body: Any, path: str) -> Port:
        return cls(
            _read.required(body, "ofport", int, path),
            _read.choice(PortRole, _read.required(body, "role", str, path), f"{path}.role"),
            _read.required(body, "name", str, path),
        )


@dataclass(frozen=True, slots=True)
class RuleRef:
    """A rule of a Kubernetes NetworkPolicy or ClusterNetworkPolicy, as users name it."""

    namespace: str
    """Empty for a ClusterNetworkPolicy."""
    name: str
    rule: str
    """`ingress[0]` for the first ingress rule of the spec; `ingress (isolation only)` for the
    isolation a policyType without rules adds; a ClusterNetworkPolicy rule's own name follows
    its position (`ingress[0]:deny-all`)."""
    tier: str = ""
    """Admin or Baseline for a ClusterNetworkPolicy rule."""
    action: str = ""
    """Accept, Deny or Pass for a ClusterNetworkPolicy rule."""

    @property
    def text(self) -> str:
        """`NetworkPolicy ns/name ingress[0]`, `ClusterNetworkPolicy name ingress[0] (Admin tier, Deny)`."""
        if self.namespace:
            return f"NetworkPolicy {self.namespace}/{self.name} {self.rule}"
        return f"ClusterNetworkPolicy {self.name} {self.rule} ({self.tier} tier, {self.action})"

    def to_json(self) -> dict[str, Any]:
        answer = {"namespace": self.namespace, "name": self.name, "rule": self.rule}
        if self.tier:
            answer["tier"] = self.tier
        if self.action:
            answer["action"] = self.action
        return answer

    @classmethod
    def from_json(cls, body: Any, path: str) -> RuleRef:
        return cls(
            _read.required(body, "namespace", str, path),
            _read.required(body, "name", str, path),
            _read.required(body, "rule", str, path),
            _read.optional(body, "tier", str, path) or "",
            _read.optional(body, "action", str, path) or "",
        )


_DIRECTIONS = {Direction.IN: "Ingress", Direction.OUT: "Egress"}


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    direction: Direction
    allowed: bool
    rules: tuple[RuleRef, ...]
    """Allowed: the rule that allowed it. Dropped: the rules whose isolation dropped it, or the
    ClusterNetworkPolicy rule that denied it. Passed: the rule that passed it on."""
    tier: str = ""
    """The ClusterNetworkPolicy tier that decided (Admin, Baseline); empty: NetworkPolicy."""
    action: str = ""
    """Accept, Deny or Pass in a tier; empty for NetworkPolicy."""

    def to_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"direction": _DIRECTIONS[self.direction], "allowed": self.allowed}
        if self.tier:
            answer |= {"tier": self.tier, "action": self.action}
        answer["rules"] = [rule.to_json() for rule in self.rules]
        return answer

    @classmethod
    def from_json(cls, body: Any, path: str) -> PolicyDecision:
        text = _read.required(body, "direction", str, path)
        direction = next((d for d, name in _DIRECTIONS.items() if name == text), None)
        if direction is None:
            raise TraceError(f"{path}.direction must be Ingress or Egress, got {text!r}")
        return cls(
            direction,
            _read.required(body, "allowed", bool, path),
            _read.items(body, "rules", RuleRef.from_json, path),
            _read.optional(body, "tier", str, path) or "",
            _read.optional(body, "action", str, path) or "",
        )


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One flow the packet met, with its table's name."""

    table: int
    table_name: str
    priority: int | None
    """None: the packet matched no flow of the table."""
    match: str
    actions: tuple[str, ...]
    notes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "tableName": self.table_name,
            "priority": self.priority,
            "match": self.match,
            "actions": list(self.actions),
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, body: Any, path: str) -> TraceStep:
        return cls(
            _read.required(body, "table", int, path),
            _read.required(body, "tableName", str, path),
            _read.optional(body, "priority", int, path),
            _read.required(body, "match", str, path),
            tuple(_read.strings(body, "actions", path)),
            tuple(_read.strings(body, "notes", path)),
        )


class ChosenBy(enum.StrEnum):
    """How a trace chose the endpoint of a Service connection."""

    PINNED = "pinned"
    """The user asked for this endpoint."""
    CONNTRACK = "conntrack"
    """A connection with this packet's addresses and ports exists: conntrack sends it there."""
    AFFINITY = "affinity"
    """ClientIP affinity: the client's learned endpoint."""
    HASH = "hash"
    """The group hashes the packet's fields in Open vSwitch (UDP, SCTP, affinity): this packet
    goes there, exactly as the trace shows."""
    DATAPATH_HASH = "datapath-hash"
    """The group picks by a hash the datapath computes per connection (TCP): the trace followed
    the bucket of one hash value; a real connection may go to any of the endpoints."""


@dataclass(frozen=True, slots=True)
class ServiceHop:
    """A packet to a Service: which Service port it hit and the endpoint it was sent to."""

    service: str
    """`namespace/name`."""
    port_name: str
    protocol: str
    frontend: str
    """What the packet was sent to: `clusterIP:port`, `externalIP:port`, or `NodePort port`."""
    endpoints: tuple[Endpoint, ...]
    """Every endpoint this node's group for the port has (empty: the Service rejects)."""
    endpoint: Endpoint | None = None
    """The endpoint the trace followed (None: no endpoint, rejected)."""
    chosen_by: ChosenBy | None = None
    endpoint_pod: str | None = None
    """`namespace/name` of the endpoint's pod, when the controller knows it."""
    endpoint_node: str | None = None

    @property
    def text(self) -> str:
        """`Service web/api tcp/80 (10.96.0.50:80) -> endpoint 172.16.1.5:8080 (pod web/b on node2)`."""
        port = f"{self.port_name or self.protocol.lower()}/{self.frontend.rpartition(':')[2]}"
        head = f"Service {self.service} {port} ({self.frontend})"
        if self.endpoint is None:
            return f"{head}: no endpoint"
        where = [f"pod {self.endpoint_pod}" if self.endpoint_pod else "", self.endpoint_node or ""]
        detail = " on ".join(w for w in where if w)
        return f"{head} -> endpoint {self.endpoint}" + (f" ({detail})" if detail else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "portName": self.port_name,
            "protocol": self.protocol,
            "frontend": self.frontend,
            "endpoints": [str(e) for e in self.endpoints],
            "endpoint": None if self.endpoint is None else str(self.endpoint),
            "chosenBy": None if self.chosen_by is None else self.chosen_by.value,
            "endpointPod": self.endpoint_pod,
            "endpointNode": self.endpoint_node,
        }

    @classmethod
    def from_json(cls, body: Any, path: str) -> ServiceHop:
        endpoint = _read.optional(body, "endpoint", str, path)
        chosen = _read.optional(body, "chosenBy", str, path)
        return cls(
            _read.required(body, "service", str, path),
            _read.required(body, "portName", str, path),
            _read.required(body, "protocol", str, path),
            _read.required(body, "frontend", str, path),
            tuple(Endpoint.parse(e, f"{path}.endpoints") for e in _read.strings(body, "endpoints", path)),
            None if endpoint is None else Endpoint.parse(endpoint, f"{path}.endpoint"),
            None if chosen is None else _read.choice(ChosenBy, chosen, f"{path}.chosenBy"),
            _read.optional(body, "endpointPod", str, path),
            _read.optional(body, "endpointNode", str, path),
        )


@dataclass(frozen=True, slots=True)
class HopTrace:
    """One node's part of a packet's way, as its agent traced and explained it."""

    node: str
    flow: str
    """The packet as handed to ofproto/trace."""
    ovs_trace: str
    """ofproto/trace's own text (each run, when the Service's bucket was chosen)."""
    steps: tuple[TraceStep, ...]
    policies: tuple[PolicyDecision, ...]
    verdict: Verdict
    reason: str
    """Why the verdict, in a sentence."""
    output: Port | None
    tunnel_destination: str | None
    """The peer node's address, when tunneled."""
    packet: Mapping[str, str]
    """The packet as it leaves (dl_src, dl_dst, nw_ttl, tun_id)."""
    service: ServiceHop | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "flow": self.flow,
            "ovsTrace": self.ovs_trace,
            "steps": [step.to_json() for step in self.steps],
            "policies": [decision.to_json() for decision in self.policies],
            "verdict": self.verdict.value,
            "reason": self.reason,
            "output": None if self.output is None else self.output.to_json(),
            "tunnelDestination": self.tunnel_destination,
            "packet": dict(self.packet),
            "service": None if self.service is None else self.service.to_json(),
        }

    @classmethod
    def from_json(cls, body: Any, path: str = "hop") -> HopTrace:
        packet = _read.required(body, "packet", dict, path)
        if not all(isinstance(v, str) for v in packet.values()):
            raise TraceError(f"{path}.packet must map fields to strings, got {packet!r}")
        output = _read.optional(body, "output", dict, path)
        service = _read.optional(body, "service", dict, path)
        return cls(
            _read.required(body, "node", str, path),
            _read.required(body, "flow", str, path),
            _read.required(body, "ovsTrace", str, path),
            _read.items(body, "steps", TraceStep.from_json, path),
            _read.items(body, "policies", PolicyDecision.from_json, path),
            _read.choice(Verdict, _read.required(body, "verdict", str, path), f"{path}.verdict"),
            _read.required(body, "reason", str, path),
            None if output is None else Port.from_json(output, f"{path}.output"),
            _read.optional(body, "tunnelDestination", str, path),
            packet,
            None if service is None else ServiceHop.from_json(service, f"{path}.service"),
        )


# -- the cluster's trace: what a user asks the controller, and its answer -------------------------


@dataclass(frozen=True, slots=True)
class TraceQuery:
    """A user's trace: from a pod to a pod (`namespace/name`) or an address (a Service's too)."""

    source: tuple[str, str]
    """(namespace, name) of the source pod."""
    destination: str
    """A pod as `namespace/name`, or an IPv4 address."""
    protocol: TraceProtocol
    port: int
    """The destination port (0 for ICMP)."""
    source_port: int = DEFAULT_SOURCE_PORT
    endpoint: Endpoint | None = None
    """The endpoint to follow when the destination is a Service."""

    def __post_init__(self) -> None:
        if self.protocol is not TraceProtocol.ICMP:
            for name, value in (("port", self.port), ("sourcePort", self.source_port)):
                if not 1 <= value <= 65535:
                    raise TraceError(f"{name} must be a port number 1..65535, got {value!r}")

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "source": "/".join(self.source),
            "destination": self.destination,
            "protocol": self.protocol.value,
        }
        if self.protocol is not TraceProtocol.ICMP:
            body |= {"port": self.port, "sourcePort": self.source_port}
        if self.endpoint is not None:
            body["endpoint"] = str(self.endpoint)
        return body

    @classmethod
    def from_json(cls, body: Any) -> TraceQuery:
        """The query of a request body; raises TraceError naming the bad field."""
        if not isinstance(body, dict):
            raise TraceError("the body must be a JSON object")
        source = body.get("source")
        if not isinstance(source, str) or source.count("/") != 1 or "" in source.split("/"):
            raise TraceError(f"source must be a pod as NAMESPACE/NAME, got {source!r}")
        destination = body.get("destination")
        if not isinstance(destination, str) or not destination:
            raise TraceError(
                f"destination must be a pod as NAMESPACE/NAME or an IPv4 address, got {destination!r}"
            )
        protocol = _read.choice(TraceProtocol, str(body.get("protocol", "TCP")).upper(), "protocol")
        port, source_port = 0, 0
        if protocol is not TraceProtocol.ICMP:
            if "port" not in body:
                raise TraceError(f"port is required for {protocol}")
            port, source_port = body["port"], body.get("sourcePort", DEFAULT_SOURCE_PORT)
            for name, value in (("port", port), ("sourcePort", source_port)):
                if not isinstance(value, int) or isinstance(value, bool):
                    raise TraceError(f"{name} must be a port number 1..65535, got {value!r}")
        pin = body.get("endpoint")
        endpoint = None if pin in (None, "") else Endpoint.parse(pin, "endpoint")
        namespace, name = source.split("/")
        return cls((namespace, name), destination, protocol, port, source_port, endpoint)


@dataclass(frozen=True, slots=True)
class ClusterTrace:
    """The controller's answer: the hops the packet crossed, the verdict of the last."""

    source: str
    source_ip: str
    destination: str
    destination_ip: str
    destination_pod: str | None
    """The pod the packet reaches: the destination's, or the Service endpoint's."""
    protocol: TraceProtocol
    port: int
    verdict: Verdict
    reason: str
    hops: tuple[HopTrace, ...] = field(default=())

    @property
    def service(self) -> ServiceHop | None:
        """The Service the packet went through, as the hop that chose its endpoint saw it."""
        return next((hop.service for hop in self.hops if hop.service is not None), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "sourceIP": self.source_ip,
            "destination": self.destination,
            "destinationIP": self.destination_ip,
            "destinationPod": self.destination_pod,
            "protocol": self.protocol.value,
            "port": self.port,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "service": None if self.service is None else self.service.to_json(),
            "hops": [hop.to_json() for hop in self.hops],
        }

    @classmethod
    def from_json(cls, body: Any) -> ClusterTrace:
        """The answer of a JSON body; raises TraceError naming the bad field."""
        return cls(
            _read.required(body, "source", str),
            _read.required(body, "sourceIP", str),
            _read.required(body, "destination", str),
            _read.required(body, "destinationIP", str),
            _read.optional(body, "destinationPod", str),
            _read.choice(TraceProtocol, _read.required(body, "protocol", str), "protocol"),
            _read.required(body, "port", int),
            _read.choice(Verdict, _read.required(body, "verdict", str), "verdict"),
            _read.required(body, "reason", str),
            _read.items(body, "hops", HopTrace.from_json),
        )
