"""The agent's trace: a packet that a local pod sends, or that arrives through the tunnel, run
through this node's br-int with `ofproto/trace` and explained (`agent.observe.explain`). What is
asked (`FromPod`, `FromTunnel`, `Packet`) is the controlplane API's (`pyantrea_api.trace`).

A packet from a local pod is built the way the pod's kernel would send it: from the pod's MAC
and address, to the MAC of the destination pod when the destination is in the node's pod
subnet (on-link: the pod resolves it by ARP), else to the gateway's MAC (its default route). A
packet from the tunnel is what the sending node's trace put on the wire: its MACs and TTL,
with the sending and receiving nodes' addresses as the tunnel's source and destination.

A packet to a Service (AntreaProxy) is followed to one endpoint (`agent.observe.servicetrace`):
the one the request pins, else the one conntrack holds for a connection with the packet's
addresses and ports, else the group's choice; the trace shows the packet after the DNAT, the
policies at the endpoint and where it goes, and the answer names the Service, its endpoints,
the endpoint followed and how it was chosen.

    tracer = Tracer(node_datapath, Appctl(config.ovs_run_dir), rules, services=proxier.programmed)
    result = await tracer.trace(FromPod("default", "web"), Packet(TraceProtocol.TCP, ...))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from ipaddress import IPv4Address
from typing import Protocol

from agent.node.bridge import TUNNEL_PORT
from agent.node.local import LocalNode
from agent.observe import servicetrace
from agent.observe.appctl import Appctl, AppctlError
from agent.observe.explain import Explanation, PolicyRules, explain
from agent.observe.tracetext import Trace, parse
from agent.openflow import registers as R
from agent.pods.api import PodInterface
from agent.proxy.model import Service
from agent.proxy.state import ProgrammedPort
from pyantrea_api.trace import (
    ChosenBy,
    Endpoint,
    FromPod,
    FromTunnel,
    Packet,
    Port,
    PortRole,
    ServiceHop,
    TraceError,
    TraceProtocol,
)


class TraceNode(Protocol):
    """What the tracer reads of its node (read at each trace): `agent.observe.node.NodeDatapath`."""

    @property
    def name(self) -> str: ...

    @property
    def bridge(self) -> str:
        """The bridge's name (br-int)."""
        ...

    @property
    def local(self) -> LocalNode: ...

    @property
    def tunnel_ofport(self) -> int: ...

    @property
    def gateway_ofport(self) -> int: ...

    @property
    def gateway(self) -> str:
        """The gateway interface's name (gw0)."""
        ...

    def interfaces(self) -> list[PodInterface]:
        """The pods attached on the node."""
        ...


Programmed = Callable[[], Sequence[tuple[Service, tuple[ProgrammedPort, ...]]]]
"""What AntreaProxy programmed on this node (`Proxier.programmed`)."""

DEFAULT_TTL = 64


@dataclass(frozen=True, slots=True)
class _Run:
    """One ofproto/trace run: the flow handed to it, its text, the text read."""

    flow: str
    output: str
    trace: Trace


@dataclass(frozen=True, slots=True)
class TraceResult:
    node: str
    flow: str
    """The packet as handed to ofproto/trace."""
    output: str
    """ofproto/trace's own text."""
    explanation: Explanation
    service: ServiceHop | None = None
    """The Service the packet was sent to, and the endpoint followed."""


def flow_text(
    packet: Packet, *, src_ip: IPv4Address, in_port: int, dl_src: str, dl_dst: str, ttl: int
) -> str:
    """The ofproto/trace flow of `packet` entering br-int on `in_port`."""
    parts = [
        packet.protocol.lower(),
        f"in_port={in_port}",
        f"dl_src={dl_src}",
        f"dl_dst={dl_dst}",
        f"nw_src={src_ip}",
        f"nw_dst={packet.dst_ip}",
        f"nw_ttl={ttl}",
    ]
    if packet.protocol is TraceProtocol.ICMP:
        parts += ["icmp_type=8", "icmp_code=0"]
    else:
        prefix = packet.protocol.lower()  # ofproto/trace takes tp_src only for TCP: udp_src, sctp_src
        parts += [f"{prefix}_src={packet.src_port}", f"{prefix}_dst={packet.dst_port}"]
    return ",".join(parts)


class Tracer:
    """Traces packets through this node's bridge."""

    def __init__(
        self, node: TraceNode, appctl: Appctl, rules: PolicyRules, *, services: Programmed | None = None
    ) -> None:
        self._node = node
        self._appctl = appctl
        self._rules = rules
        self._services = services

    async def trace(
        self, source: FromPod | FromTunnel, packet: Packet, endpoint: Endpoint | None = None
    ) -> TraceResult:
        if isinstance(source, FromPod):
            flow, src_ip = self._from_pod(source, packet)
        else:
            if packet.src_ip is None:
                raise TraceError("srcIP is required for a packet from the tunnel")
            local = self._node.local
            tunnel = f"tun_src={source.tunnel_src},tun_dst={local.node_ip},tun_id={source.tunnel_id},"
            src_ip = packet.src_ip
            flow = tunnel + flow_text(
                packet, src_ip=packet.src_ip, in_port=self._node.tunnel_ofport,
                dl_src=source.dl_src, dl_dst=source.dl_dst, ttl=source.ttl,
            )  # fmt: skip
        run = await self._run(flow)
        service: ServiceHop | None = None
        balanced = servicetrace.balanced(run.trace)
        if balanced is not None:
            run, service = await self._follow_service(balanced, run, src_ip, packet, endpoint)
        elif endpoint is not None:
            raise TraceError(
                f"endpoint {endpoint} was given, but the packet to {packet.dst_ip} meets no Service "
                f"on node {self._node.name} (AntreaProxy off, or no Service has this address and port)"
            )
        explanation = explain(run.trace, self._ports(), self._rules)
        return TraceResult(self._node.name, run.flow, run.output, explanation, service)

    async def _run(self, flow: str) -> _Run:
        output = await self._appctl.trace(self._node.bridge, flow)
        return _Run(flow, output, parse(output))

    async def _follow_service(
        self,
        balanced: servicetrace.Balanced,
        run: _Run,
        src_ip: IPv4Address,
        packet: Packet,
        wanted: Endpoint | None,
    ) -> tuple[_Run, ServiceHop | None]:
        """The trace that follows the Service's endpoint (see `agent.observe.servicetrace`)."""
        node = self._node.name
        node_port = packet.dst_ip == self._node.local.node_ip
        found = servicetrace.find_port(
            self._services() if self._services is not None else (),
            group=balanced.group,
            packet=packet,
            node_port_address=node_port,
        )
        if found is None:
            return run, None
        hop = servicetrace.service_hop(found, group=balanced.group, packet=packet, node_port=node_port)
        port = f"{hop.service} port {hop.port_name or hop.protocol}"
        if wanted is not None and not any(wanted.accepts(e) for e in hop.endpoints):
            listed = ", ".join(map(str, hop.endpoints)) or "none"
            raise TraceError(
                f"{wanted} is not an endpoint of Service {port} on {node} (its endpoints: {listed})"
            )
        if balanced.group is None:  # rejected, or the client's learned endpoint
            by = ChosenBy.AFFINITY if balanced.affinity else None
            return run, replace(hop, endpoint=balanced.endpoint, chosen_by=by)
        chosen = ChosenBy.PINNED if wanted is not None else None
        if wanted is None:
            held = await self._conntrack(src_ip, packet)
            # A connection to an endpoint the Service no longer has is not what the group does.
            if held is not None and held in hop.endpoints:
                wanted, chosen = held, ChosenBy.CONNTRACK
        if not balanced.waits_for_hash:
            # Open vSwitch chose while translating (a group hashing the packet's fields): this
            # packet goes there, whatever is asked.
            got = balanced.endpoint
            agrees = got is not None and wanted is not None and wanted.accepts(got)
            if chosen is ChosenBy.PINNED and not agrees:
                raise TraceError(
                    f"Service {port} picks its endpoint by hashing the packet's addresses and ports: "
                    f"this packet goes to {got}, not {wanted}; another source port may go elsewhere"
                )
            by = chosen if chosen is not None and agrees else ChosenBy.HASH
            return run, replace(hop, endpoint=got, chosen_by=by)
        first = servicetrace.packet_hash(src_ip, packet)
        for dp_hash in servicetrace.hash_candidates(first) if wanted is not None else (first,):
            hashed = await self._run(f"dp_hash={dp_hash:#x},{run.flow}")
            again = servicetrace.balanced(hashed.trace)
            got = again.endpoint if again is not None else None
            if got is not None and (wanted is None or wanted.accepts(got)):
                return hashed, replace(hop, endpoint=got, chosen_by=chosen or ChosenBy.DATAPATH_HASH)
        if wanted is None:
            raise TraceError(f"Open vSwitch did not follow the group of Service {port} on {node}")
        raise TraceError(f"no bucket of the group of Service {port} on {node} leads to endpoint {wanted}")

    async def _conntrack(self, src_ip: IPv4Address, packet: Packet) -> Endpoint | None:
        """The endpoint conntrack sends an existing connection with these addresses and ports to."""
        try:
            dump = await self._appctl.dump_conntrack(R.CT_ZONE)
        except AppctlError:
            return None
        return servicetrace.conntrack_endpoint(dump, src_ip, packet)

    def _from_pod(self, source: FromPod, packet: Packet) -> tuple[str, IPv4Address]:
        node = self._node
        interfaces = node.interfaces()
        wanted = (source.namespace, source.name)
        pod = next(
            (i for i in interfaces if (i.attachment.pod_namespace, i.attachment.pod_name) == wanted), None
        )
        if pod is None:
            raise TraceError(f"pod {source.namespace}/{source.name} is not attached on node {node.name}")
        local = node.local
        dl_dst = local.gateway_mac
        if packet.dst_ip in local.subnet and packet.dst_ip != local.gateway.ip:
            peer = next((i for i in interfaces if i.attachment.ip.ip == packet.dst_ip), None)
            if peer is None:
                raise TraceError(
                    f"no pod on node {node.name} has address {packet.dst_ip}: "
                    f"{source.namespace}/{source.name}'s ARP request for it would go unanswered"
                )
            dl_dst = peer.attachment.mac
        attachment = pod.attachment
        flow = flow_text(
            packet, src_ip=attachment.ip.ip, in_port=pod.ofport, dl_src=attachment.mac, dl_dst=dl_dst,
            ttl=DEFAULT_TTL,
        )  # fmt: skip
        return flow, attachment.ip.ip

    def _ports(self) -> dict[int, Port]:
        node = self._node
        ports = {
            node.tunnel_ofport: Port(node.tunnel_ofport, PortRole.TUNNEL, TUNNEL_PORT),
            node.gateway_ofport: Port(node.gateway_ofport, PortRole.GATEWAY, node.gateway),
        }
        for interface in node.interfaces():
            attachment = interface.attachment
            name = f"{attachment.pod_namespace}/{attachment.pod_name}"
            ports[interface.ofport] = Port(interface.ofport, PortRole.POD, name)
        return ports
