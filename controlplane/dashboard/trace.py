"""Tracing a packet across the cluster: the controller asks the agents of the nodes it crosses.

A trace names a source pod, a destination (a pod `namespace/name` or an IPv4 address), a
protocol and a port. The controller finds the pods (its Pod informer) and asks the source pod's
agent, at the API address of its heartbeat, to trace the packet through its bridge (`POST
/api/v1/trace` of the agent, a `pyantrea_api.trace.TraceRequest`). When that node sends it through the tunnel,
the agent of the node at the tunnel's destination traces it as it arrives (the sending node's
MACs, TTL and tunnel key). The answer lists each hop as its agent explained it (tables crossed,
policy decisions, verdict) and ends with the verdict of the last hop. The query and the answers,
the agents' and the cluster's, are the trace contract's (`pyantrea_api.trace`).

A packet to a Service address: the source pod's agent follows it to one endpoint (pinned by the
query, or its own choice) and traces it after the DNAT; the next hop gets the packet as DNATed
(the endpoint's address and port), and the answer names the endpoint's pod and node.

The agents' APIs are reached through `controlplane.dashboard.agentapi` (HTTPS, each agent's CA
pinned, the controller's token).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from ipaddress import IPv4Address, ip_address

from controlplane.compute.inputs import Pod
from controlplane.dashboard.agentapi import AgentApiClient, AgentCallFailed
from controlplane.status.agents import Heartbeat
from pyantrea_api.trace import (
    TRACE_PATH,
    ClusterTrace,
    FromPod,
    HopTrace,
    Packet,
    TraceError,
    TraceQuery,
    TraceRequest,
    Verdict,
    from_tunnel,
)

_MAX_HOPS = 2
"""A packet crosses at most the source node and, through the tunnel, the destination node."""


class TraceFailed(Exception):
    """The trace could not be run; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _ipv4(pod: Pod) -> IPv4Address | None:
    for packed in pod.ips:
        if len(packed) == 4:
            return IPv4Address(packed)
    return None


def _find_pod(pods: Sequence[Pod], namespace: str, name: str, role: str) -> Pod:
    pod = next((p for p in pods if (p.namespace, p.name) == (namespace, name)), None)
    if pod is None:
        raise TraceFailed(f"{role} pod {namespace}/{name} not found", 404)
    if not pod.node_name or _ipv4(pod) is None:
        raise TraceFailed(f"{role} pod {namespace}/{name} has no node or no IPv4 address yet")
    if pod.host_network:
        raise TraceFailed(
            f"{role} pod {namespace}/{name} uses the host network: pyantrea does not see its traffic"
        )
    return pod


def _pod_at(pods: Sequence[Pod], address: IPv4Address) -> Pod | None:
    """The pod (not of the host network) with this address."""
    return next((p for p in pods if _ipv4(p) == address and p.node_name and not p.host_network), None)


def _agent(heartbeats: Sequence[Heartbeat], node: str) -> Heartbeat:
    beat = next((b for b in heartbeats if b.node == node), None)
    if beat is None or not beat.info.api_address:
        raise TraceFailed(f"the agent of node {node} has not reported its API address", 503)
    return beat


class ClusterTracer:
    """Runs traces with the agents' APIs; `pods` and `heartbeats` are read at each trace."""

    def __init__(self, agents: AgentApiClient) -> None:
        self._agents = agents

    async def trace(
        self, query: TraceQuery, pods: Sequence[Pod], heartbeats: Sequence[Heartbeat]
    ) -> ClusterTrace:
        source = _find_pod(pods, *query.source, "source")
        destination_pod: Pod | None = None
        if "/" in query.destination:
            namespace, _, name = query.destination.partition("/")
            destination_pod = _find_pod(pods, namespace, name, "destination")
            destination_ip = _ipv4(destination_pod)
        else:
            try:
                destination_ip = ip_address(query.destination)
            except ValueError:
                raise TraceFailed(
                    f"destination {query.destination!r} is neither NAMESPACE/NAME nor an IP address"
                ) from None
            if not isinstance(destination_ip, IPv4Address):
                raise TraceFailed(f"destination {destination_ip} is IPv6; pyantrea traces IPv4")
            destination_pod = _pod_at(pods, destination_ip)
        assert destination_ip is not None
        packet = Packet(query.protocol, None, destination_ip, query.source_port, query.port)
        beat = _agent(heartbeats, source.node_name)
        first = TraceRequest(FromPod(source.namespace, source.name), packet, query.endpoint)
        hops = [await self._ask(beat, first)]
        service = hops[0].service
        if service is not None and service.endpoint is not None:
            endpoint_pod = _pod_at(pods, service.endpoint.ip)
            if endpoint_pod is not None:
                hops[0] = replace(hops[0], service=replace(
                    service, endpoint_pod=f"{endpoint_pod.namespace}/{endpoint_pod.name}",
                    endpoint_node=endpoint_pod.node_name,
                ))  # fmt: skip
            destination_pod = endpoint_pod
            # What leaves the source node is DNATed: the next node sees the endpoint.
            packet = replace(
                packet, dst_ip=service.endpoint.ip, dst_port=service.endpoint.port or packet.dst_port
            )
        while hops[-1].verdict is Verdict.TUNNELED and len(hops) < _MAX_HOPS:
            last = hops[-1]
            peer = next((b for b in heartbeats if b.info.node_ip == last.tunnel_destination), None)
            if peer is None:
                raise TraceFailed(
                    f"{last.node} tunnels the packet to {last.tunnel_destination}, a node no agent reports",
                    503,
                )
            arriving = from_tunnel(IPv4Address(beat.info.node_ip), last.packet)
            request = TraceRequest(arriving, replace(packet, src_ip=_ipv4(source)))
            beat = peer
            hops.append(await self._ask(peer, request))
        final = hops[-1]
        return ClusterTrace(
            source=f"{source.namespace}/{source.name}",
            source_ip=str(_ipv4(source)),
            destination=query.destination,
            destination_ip=str(destination_ip),
            destination_pod=f"{destination_pod.namespace}/{destination_pod.name}"
            if destination_pod
            else None,
            protocol=query.protocol,
            port=query.port,
            verdict=final.verdict,
            reason=final.reason,
            hops=tuple(hops),
        )

    async def _ask(self, beat: Heartbeat, request: TraceRequest) -> HopTrace:
        try:
            body = await self._agents.post(beat, TRACE_PATH, request.to_json())
        except AgentCallFailed as failed:
            raise TraceFailed(str(failed), failed.status) from None
        try:
            return HopTrace.from_json(body, f"node {beat.node}'s answer")
        except TraceError as error:
            raise TraceFailed(
                f"the agent of node {beat.node} answered a trace it should not: {error}", 502
            ) from None
