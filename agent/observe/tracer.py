"""The agent's trace: a packet that a local pod sends, or that arrives through the tunnel, run
through this node's br-int with `ofproto/trace` and explained (`agent.observe.explain`). What is
asked (`FromPod`, `FromTunnel`, `Packet`) is the controlplane API's (`pyantrea_api.trace`).

A packet from a local pod is built the way the pod's kernel would send it: from the pod's MAC
and address, to the MAC of the destination pod when the destination is in the node's pod
subnet (on-link: the pod resolves it by ARP), else to the gateway's MAC (its default route). A
packet from the tunnel is what the sending node's trace put on the wire: its MACs and TTL,
with the sending and receiving nodes' addresses as the tunnel's source and destination.

    tracer = Tracer(node_datapath, pods, Appctl(config.ovs_run_dir), rules)
    result = await tracer.trace(FromPod("default", "web"), Packet(TraceProtocol.TCP, ...))
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from agent.node.bridge import TUNNEL_PORT
from agent.observe.appctl import Appctl
from agent.observe.explain import Explanation, PolicyRules, Port, PortRole, explain
from agent.observe.node import NodeDatapath
from agent.observe.tracetext import parse
from agent.pods.api import PodInterfaces
from pyantrea_api.trace import FromPod, FromTunnel, Packet, TraceError, TraceProtocol

DEFAULT_TTL = 64


@dataclass(frozen=True, slots=True)
class TraceResult:
    node: str
    flow: str
    """The packet as handed to ofproto/trace."""
    output: str
    """ofproto/trace's own text."""
    explanation: Explanation


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
    """Traces packets through this node's bridge (`node`), with its pods attached now (`pods`)."""

    def __init__(self, node: NodeDatapath, pods: PodInterfaces, appctl: Appctl, rules: PolicyRules) -> None:
        self._node = node
        self._pods = pods
        self._appctl = appctl
        self._rules = rules

    async def trace(self, source: FromPod | FromTunnel, packet: Packet) -> TraceResult:
        if isinstance(source, FromPod):
            flow = self._from_pod(source, packet)
        else:
            if packet.src_ip is None:
                raise TraceError("srcIP is required for a packet from the tunnel")
            local = self._node.node
            tunnel = f"tun_src={source.tunnel_src},tun_dst={local.node_ip},tun_id={source.tunnel_id},"
            flow = tunnel + flow_text(
                packet, src_ip=packet.src_ip, in_port=self._node.tunnel_ofport,
                dl_src=source.dl_src, dl_dst=source.dl_dst, ttl=source.ttl,
            )  # fmt: skip
        output = await self._appctl.trace(self._node.bridge, flow)
        explanation = explain(parse(output), self._ports(), self._rules)
        return TraceResult(self._node.node.name, flow, output, explanation)

    def _from_pod(self, source: FromPod, packet: Packet) -> str:
        local = self._node.node
        interfaces = self._pods.interfaces()
        wanted = (source.namespace, source.name)
        pod = next(
            (i for i in interfaces if (i.attachment.pod_namespace, i.attachment.pod_name) == wanted), None
        )
        if pod is None:
            raise TraceError(f"pod {source.namespace}/{source.name} is not attached on node {local.name}")
        dl_dst = local.gateway_mac
        if packet.dst_ip in local.subnet and packet.dst_ip != local.gateway.ip:
            peer = next((i for i in interfaces if i.attachment.ip.ip == packet.dst_ip), None)
            if peer is None:
                raise TraceError(
                    f"no pod on node {local.name} has address {packet.dst_ip}: "
                    f"{source.namespace}/{source.name}'s ARP request for it would go unanswered"
                )
            dl_dst = peer.attachment.mac
        attachment = pod.attachment
        return flow_text(
            packet, src_ip=attachment.ip.ip, in_port=pod.ofport, dl_src=attachment.mac, dl_dst=dl_dst,
            ttl=DEFAULT_TTL,
        )  # fmt: skip

    def _ports(self) -> dict[int, Port]:
        node = self._node
        ports = {
            node.tunnel_ofport: Port(node.tunnel_ofport, PortRole.TUNNEL, TUNNEL_PORT),
            node.gateway_ofport: Port(node.gateway_ofport, PortRole.GATEWAY, node.gateway_port),
        }
        for interface in self._pods.interfaces():
            attachment = interface.attachment
            name = f"{attachment.pod_namespace}/{attachment.pod_name}"
            ports[interface.ofport] = Port(interface.ofport, PortRole.POD, name)
        return ports
