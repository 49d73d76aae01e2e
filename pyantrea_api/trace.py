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
shows it leaving (`dl_src`, `dl_dst`, `nw_ttl`, `tun_id`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any

TRACE_PATH = "/api/v1/trace"
"""Where an agent's API runs traces."""


class TraceError(ValueError):
    """The trace cannot be run as asked: a bad field, an unknown pod, an address no pod answers for."""


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
        return {"source": origin, "packet": body}

    @classmethod
    def from_json(cls, body: Any) -> TraceRequest:
        """The request of a JSON body; raises TraceError naming the bad field."""
        protocol_text = _field(body, "packet.protocol", str)
        try:
            protocol = TraceProtocol(protocol_text.upper())
        except ValueError:
            raise TraceError(
                f"packet.protocol must be one of {', '.join(TraceProtocol)}, got {protocol_text!r}"
            ) from None
        ports = (0, 0)
        if protocol is not TraceProtocol.ICMP:
            ports = (_field(body, "packet.srcPort", int), _field(body, "packet.dstPort", int))
        source = _field(body, "source", dict)
        if "pod" in source:
            origin: FromPod | FromTunnel = FromPod(
                _field(body, "source.pod.namespace", str), _field(body, "source.pod.name", str)
            )
            src_ip = None
        elif "tunnel" in source:
            origin = FromTunnel(
                _address(body, "source.tunnel.src"),
                _field(body, "source.tunnel.tunId", int),
                _field(body, "source.tunnel.dlSrc", str),
                _field(body, "source.tunnel.dlDst", str),
                _field(body, "source.tunnel.ttl", int),
            )
            src_ip = _address(body, "packet.srcIP")
        else:
            raise TraceError("source must have a pod or a tunnel")
        return cls(origin, Packet(protocol, src_ip, _address(body, "packet.dstIP"), *ports))


def _field(body: Any, path: str, kind: type) -> Any:
    value: Any = body
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            raise TraceError(f"{path} is required")
        value = value[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TraceError(f"{path} must be a {kind.__name__}, got {value!r}")
    return value


def _address(body: Any, path: str) -> IPv4Address:
    text = _field(body, path, str)
    try:
        return IPv4Address(text)
    except ValueError:
        raise TraceError(f"{path} must be an IPv4 address, got {text!r}") from None
