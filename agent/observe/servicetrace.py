"""A traced packet to a Service: which Service port it hit, which endpoint its group chose, and
how ofproto/trace is made to follow an endpoint.

ServiceLB (34) sends a new Service connection to the port's select group (or, without
endpoints, to the controller). Open vSwitch chooses the bucket in two ways:

* groups that hash fields in OpenFlow (UDP, SCTP, ClientIP affinity) choose while translating,
  so ofproto/trace follows the bucket the datapath uses for this very packet;
* TCP groups use `dp_hash`, which the datapath computes per connection: ofproto/trace stops at
  `hash(...),recirc(...)`. Given a flow with `dp_hash=H` already set, Open vSwitch picks the
  bucket of H and goes on, so the trace is run again with the `dp_hash` that picks the endpoint
  wanted (pinned by the user, or the one conntrack holds for this connection), found by trying
  hash values; without either, one hash of the packet's addresses and ports.

The trace goes on through EndpointDNAT's `ct(commit,nat(dst=IP:PORT))`, which ofproto/trace
simulates (it rewrites the addresses of the recirculated packet), so the policy tables and the
output see the endpoint as the datapath does.

Nothing here does I/O: `tracer` runs ofproto/trace and reads conntrack.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address

from agent.observe.tracetext import Step, Trace
from agent.openflow.pipeline import ENDPOINT_DNAT, PRIORITY_MISS, SERVICE_LB, SESSION_AFFINITY
from agent.proxy.model import Service
from agent.proxy.state import ProgrammedPort
from pyantrea_api.trace import Endpoint, Packet, ServiceHop

_NAT_DST = re.compile(r"nat\(dst=([0-9.]+):(\d+)\)")
_GROUP = re.compile(r"^group:(\d+)$")
MAX_HASH_TRIES = 256
"""dp_hash values tried to reach a wanted endpoint. Open vSwitch maps the low bits of the hash to
buckets through a table of a power-of-two size (16 slots for a group of 2), so the first values
reach every bucket of any group the size of a real Service's."""


@dataclass(frozen=True, slots=True)
class Balanced:
    """What a trace shows of the Service load balancing."""

    group: int | None
    """The group ServiceLB sent the packet to (None: to the controller, no endpoint)."""
    endpoint: Endpoint | None
    """The endpoint EndpointDNAT NATed the packet to (None: the trace did not get there)."""
    affinity: bool
    """The client's learned endpoint (SessionAffinity) decided, not the group."""
    waits_for_hash: bool
    """The trace stopped where the datapath computes dp_hash."""


def balanced(trace: Trace) -> Balanced | None:
    """The load balancing the trace went through; None when the packet met no Service flow."""
    steps = trace.steps
    front = next((s for s in steps if s.table == SERVICE_LB.id and _matched(s)), None)
    learned = next((s for s in steps if s.table == SESSION_AFFINITY.id and _matched(s)), None)
    dnats = (_nat_dst(s) for s in steps if s.table == ENDPOINT_DNAT.id)
    endpoint = next((e for e in dnats if e is not None), None)
    if front is None and learned is None:
        return None
    group = _group(front) if front is not None else None
    waits = endpoint is None and any("hash(" in section.datapath_actions for section in trace.sections)
    return Balanced(group, endpoint, learned is not None and front is None, waits)


def _matched(step: Step) -> bool:
    return step.priority is not None and step.priority != PRIORITY_MISS


def _group(step: Step) -> int | None:
    for action in step.actions:
        found = _GROUP.match(action)
        if found is not None:
            return int(found.group(1))
    return None


def _nat_dst(step: Step) -> Endpoint | None:
    for action in step.actions:
        found = _NAT_DST.search(action)
        if found is not None:
            return Endpoint(IPv4Address(found.group(1)), int(found.group(2)))
    return None


def packet_hash(source_ip: IPv4Address, packet: Packet) -> int:
    """A dp_hash for the packet when nothing pins its endpoint: a CRC of its addresses and ports
    (never 0, which Open vSwitch reads as "not computed")."""
    key = f"{source_ip},{packet.dst_ip},{packet.protocol},{packet.src_port},{packet.dst_port}"
    return zlib.crc32(key.encode()) or 1


def hash_candidates(first: int) -> Iterable[int]:
    """`first`, then the dp_hash values 1..MAX_HASH_TRIES (the others map to the same buckets)."""
    yield first
    yield from (h for h in range(1, MAX_HASH_TRIES + 1) if h != first)


@dataclass(frozen=True, slots=True)
class ServicePort:
    """A Service port as this node's proxy programmed it."""

    service: Service
    port: ProgrammedPort


def find_port(
    programmed: Sequence[tuple[Service, tuple[ProgrammedPort, ...]]],
    *,
    group: int | None,
    packet: Packet,
    node_port_address: bool,
) -> ServicePort | None:
    """The Service port whose group is `group`, or (no group: no endpoint) whose frontend the
    packet was sent to: a cluster or external address and port, or a NodePort."""
    for service, ports in programmed:
        for port in ports:
            if group is not None:
                if group in (port.cluster_group, port.local_group):
                    return ServicePort(service, port)
                continue
            if port.protocol != packet.protocol.value:
                continue
            addresses = (*service.cluster_ips, *service.external_ips, *service.load_balancer_ips)
            if (packet.dst_ip in addresses and port.port == packet.dst_port) or (
                node_port_address and port.node_port == packet.dst_port
            ):
                return ServicePort(service, port)
    return None


def service_hop(found: ServicePort, *, group: int | None, packet: Packet, node_port: bool) -> ServiceHop:
    """The Service part of a hop's answer (endpoint and choice filled in by the tracer)."""
    port = found.port
    local = group is not None and group == port.local_group and group != port.cluster_group
    endpoints = port.local_endpoints if local else port.cluster_endpoints
    frontend = f"NodePort {packet.dst_ip}:{packet.dst_port}" if node_port else f"{packet.dst_ip}:{port.port}"
    return ServiceHop(
        service=found.service.key,
        port_name=port.name,
        protocol=port.protocol,
        frontend=frontend,
        endpoints=tuple(Endpoint.parse(e, "endpoint") for e in endpoints),
    )


def conntrack_endpoint(dump: str, source_ip: IPv4Address, packet: Packet) -> Endpoint | None:
    """The endpoint of the connection with the packet's addresses and ports in a
    `dpctl/dump-conntrack` of the pod zone, if conntrack has it DNATed."""
    proto = packet.protocol.lower()
    origin = f"orig=(src={source_ip},dst={packet.dst_ip},sport={packet.src_port},dport={packet.dst_port})"
    for entry in dump.splitlines():
        line = entry.strip()
        if not line.startswith(f"{proto},") or origin not in line:
            continue
        reply = re.search(r"reply=\(src=([0-9.]+),dst=[0-9.]+,sport=(\d+),", line)
        if reply is not None and reply.group(1) != str(packet.dst_ip):
            return Endpoint(IPv4Address(reply.group(1)), int(reply.group(2)))
    return None
