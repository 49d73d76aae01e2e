"""The agent's local JSON API for looking into the node: flows, traces, pods, rule statistics.

* `GET /api/v1/podinterfaces`: the pods attached on this node;
* `GET /api/v1/networkpolicies/stats`: each rule's counters;
* `GET /api/v1/flows[?table=T]`: the flows br-int holds (every round), with their counters;
  `T` is a pipeline table by name (`IngressRule`) or number (`90`);
* `POST /api/v1/trace`: run a packet through br-int (`agent.observe.tracer`) and explain it.
  The body is a `pyantrea_api.trace.TraceRequest`: a packet from a local pod or from the
  tunnel, and the Service endpoint to follow, if pinned. The answer is a
  `pyantrea_api.trace.HopTrace`: `node`, `flow` (as handed to ofproto/trace), `ovsTrace` (its
  text), `steps` (table, tableName, priority, match, actions, notes), `policies` (direction,
  allowed, rules as namespace/name/rule), `verdict`, `reason`, `output`, `tunnelDestination`,
  `packet` (dl_src, dl_dst, nw_ttl, tun_id as the packet leaves) and `service` (the Service
  port the packet went to, its endpoints, the one followed and how it was chosen). Bad
  requests answer 400 with `{"error": "..."}` naming the field; an Open vSwitch that cannot
  trace answers 503.
* `GET /api/v1/services`: what AntreaProxy programmed (each Service, per port its endpoints
  and group ids; empty with the proxy off).

The controller's trace (`controlplane.dashboard.trace`) asks the agent of each node the packet
crosses: the source pod's, then, with a tunnel source, the one at the far end of the tunnel.

Every route here is served over HTTPS to callers with a bearer token the API server vouches for
and allows the path (`agent.observe.access`): 401 without one, 403 for a user not allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from agent.observe.appctl import AppctlError
from agent.observe.explain import table_name
from agent.observe.tracer import Tracer, TraceResult
from agent.observe.tracetext import TraceFormatError
from agent.openflow.pipeline import PIPELINE
from agent.pods.api import PodInterfaces
from agent.policy.stats import RuleStats
from agent.proxy.model import Service
from fastpath.decode import FlowStats
from fastpath.text import render_actions, render_match
from pyantrea_api.services import SERVICES_PATH, ProgrammedPort, ProgrammedService
from pyantrea_api.trace import TRACE_PATH, HopTrace, TraceRequest
from pyantrea_daemon.http import HttpServer

Json = dict[str, Any]
STATS_PATH = "/api/v1/networkpolicies/stats"
_WIRE_FIELDS = ("dl_src", "dl_dst", "nw_ttl", "tun_id")


def table_id(text: str) -> int:
    """A pipeline table by name or number; raises ValueError naming the choices."""
    for table in PIPELINE:
        if text in (table.name, str(table.id)) or text.lower() == table.name.lower():
            return table.id
    choices = ", ".join(f"{t.id} {t.name}" for t in PIPELINE)
    raise ValueError(f"table {text!r} is not in the pipeline: {choices}")


def hop_trace(result: TraceResult) -> HopTrace:
    """The agent's answer to a trace, in the contract's terms."""
    explanation = result.explanation
    return HopTrace(
        node=result.node,
        flow=result.flow,
        ovs_trace=result.output,
        steps=explanation.steps,
        policies=explanation.policies,
        verdict=explanation.verdict,
        reason=explanation.reason,
        output=explanation.output,
        tunnel_destination=explanation.tunnel_destination,
        packet={key: explanation.packet[key] for key in _WIRE_FIELDS if key in explanation.packet},
        service=result.service,
    )


class FlowDumps(Protocol):
    """The flows the switch holds (the `FlowClient`)."""

    async def dump_flows(
        self, *, table: int | None = None, cookie: int = 0, cookie_mask: int = 0
    ) -> list[FlowStats]: ...


class RuleStatsSource(Protocol):
    async def rule_stats(self) -> list[RuleStats]: ...


class ServicesSource(Protocol):
    """What AntreaProxy programmed: each Service and, per port, its endpoints and groups."""

    def programmed(self) -> list[tuple[Service, tuple[ProgrammedPort, ...]]]: ...


def programmed_service(service: Service, ports: tuple[ProgrammedPort, ...]) -> ProgrammedService:
    return ProgrammedService(
        namespace=service.namespace,
        name=service.name,
        cluster_ips=tuple(str(ip) for ip in service.cluster_ips),
        external_ips=tuple(str(ip) for ip in (*service.external_ips, *service.load_balancer_ips)),
        affinity_timeout=service.affinity_timeout,
        external_local=service.external_local,
        internal_local=service.internal_local,
        ports=ports,
    )


@dataclass(frozen=True, slots=True)
class _Parts:
    flows: FlowDumps
    tracer: Tracer
    pods: PodInterfaces
    stats: RuleStatsSource


class AgentApi:
    """The agent's local JSON API. Its routes are registered before the HTTP server starts (which
    serves `/readyz` while the datapath is set up); it answers once `serve` has given it the
    started agent's parts, and with 503 before (the rule statistics: none yet)."""

    def __init__(self) -> None:
        self._parts: _Parts | None = None
        self._services: ServicesSource | None = None
        self._services_served = False

    def serve_services(self, services: ServicesSource | None) -> None:
        """Answer /api/v1/services from AntreaProxy (None: the proxy is off, the list is empty)."""
        self._services = services
        self._services_served = True

    async def _service_list(self, request: web.Request) -> web.Response:
        if not self._services_served:
            return _starting()
        programmed = self._services.programmed() if self._services is not None else []
        return web.json_response([programmed_service(s, ports).to_json() for s, ports in programmed])

    def serve(self, *, flows: FlowDumps, tracer: Tracer, pods: PodInterfaces, stats: RuleStatsSource) -> None:
        self._parts = _Parts(flows, tracer, pods, stats)

    def add_routes(self, server: HttpServer) -> None:
        server.add_route("GET", "/api/v1/flows", self._flows)
        server.add_route("POST", TRACE_PATH, self._trace)
        server.add_route("GET", "/api/v1/podinterfaces", self._pod_interfaces)
        server.add_json_route("GET", STATS_PATH, self._stats)
        server.add_route("GET", SERVICES_PATH, self._service_list)

    async def _flows(self, request: web.Request) -> web.Response:
        if self._parts is None:
            return _starting()
        table = request.query.get("table")
        try:
            selected = table_id(table) if table is not None else None
        except ValueError as error:
            return web.json_response({"error": str(error)}, status=400)
        dumped = await self._parts.flows.dump_flows(table=selected)
        return web.json_response(
            [
                {
                    "table": stats.flow.table,
                    "tableName": table_name(stats.flow.table),
                    "priority": stats.flow.priority,
                    "match": render_match(stats.flow.match),
                    "actions": render_actions(stats.flow.actions),
                    "cookie": f"{stats.flow.cookie:#x}",
                    "packets": stats.packets,
                    "bytes": stats.bytes,
                    "durationSeconds": stats.duration_seconds,
                }
                for stats in sorted(dumped, key=lambda s: (s.flow.table, -s.flow.priority))
            ]
        )

    async def _trace(self, request: web.Request) -> web.Response:
        if self._parts is None:
            return _starting()
        try:
            asked = TraceRequest.from_json(await request.json())
            result = await self._parts.tracer.trace(asked.source, asked.packet, asked.endpoint)
        except (AppctlError, TraceFormatError) as error:
            return web.json_response({"error": str(error)}, status=503)
        except ValueError as error:  # TraceError, and a body that is not JSON
            return web.json_response({"error": str(error)}, status=400)
        return web.json_response(hop_trace(result).to_json())

    async def _pod_interfaces(self, request: web.Request) -> web.Response:
        if self._parts is None:
            return _starting()
        return web.json_response(
            [
                {
                    "containerID": i.attachment.container_id,
                    "podNamespace": i.attachment.pod_namespace,
                    "podName": i.attachment.pod_name,
                    "interface": i.attachment.host_ifname,
                    "ofport": i.ofport,
                    "ip": str(i.attachment.ip.ip),
                    "mac": i.attachment.mac,
                }
                for i in self._parts.pods.interfaces()
            ]
        )

    async def _stats(self, request: web.Request) -> list[Json]:
        if self._parts is None:
            return []
        return [stats.to_json() for stats in await self._parts.stats.rule_stats()]


_STARTING = "the agent is setting up its datapath"


def _starting() -> web.Response:
    return web.json_response({"error": _STARTING}, status=503)
