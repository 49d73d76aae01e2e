"""The agent's proxier: Services and EndpointSlices from the API server to OVS, and rejects.

    Service informer ─┐                  ┌─ wake ─▶ sync loop: state.changes() ─▶ FlowClient.update(
    EndpointSlice  ───┴─▶ ProxyState ────┘          "proxy", flows and groups) ─▶ one atomic bundle
      informer        (pure, marks the Service dirty)

Changes coalesce: whatever arrived while a bundle was on its way goes in the next one, so a
burst costs a few bundles, and one Service change costs one bundle of that Service's flows
and groups. Nothing is programmed before both informers have listed (the first sync installs
everything in one bundle). Open vSwitch restarts are the FlowClient's: it replays the flows and
groups. A bundle Open vSwitch refuses is logged and the whole proxy state is resynced (retried
with backoff).

Each EndpointSlice's `endpoints.kubernetes.io/last-change-trigger-time` feeds
`pyantrea_agent_proxy_network_programming_duration_seconds`: from the change that made the
controller write the slice to the flows being installed on this node (kube-proxy's SLI).

Packets that ServiceLB sends to the controller (a Service without endpoints) arrive on a
connection of the proxier's own and are answered at once (`agent.proxy.reject`) out of the port
they came in on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any, Protocol

from kubernetes.client import ApiClient
from prometheus_client import Counter, Gauge, Histogram

from agent.openflow import registers as R
from agent.openflow.builders import arp
from agent.openflow.builders import proxy as P
from agent.openflow.client import FlowClient, FlowsNotInstalledError
from agent.openflow.cookies import Category, name_id
from agent.openflow.packetins import serve_packet_ins
from agent.openflow.pipeline import SERVICE_LB
from agent.proxy import noderedirect
from agent.proxy.model import EndpointSlice, Service, service_from_json, slice_from_json
from agent.proxy.reject import reject_reply
from agent.proxy.state import ProgrammedPort, ProxyState
from fastpath.connection import OpenFlowConnection, OpenFlowError
from fastpath.decode import PacketIn
from pyantrea_daemon.metrics import Metrics
from pyantrea_daemon.service import Service as DaemonService
from pyantrea_kube.informer import Informer
from pyantrea_kube.resources import SERVICES, Resource
from pyantrea_netlink.errors import NetworkConfigError
from pyantrea_netlink.values import Route

log = logging.getLogger(__name__)

ENDPOINT_SLICES = Resource("discovery.k8s.io", "v1", "endpointslices", namespaced=True)
OWNER = "proxy"
NODE_OWNER = "proxy-node"
SERVICE_NEXT_HOP = IPv4Address("169.254.0.253")
"""The node routes the Service CIDR to this address on gw0; OVS answers its ARP with the virtual
MAC, so the node's own connections to ClusterIPs enter OVS from the gateway and are balanced too."""


class ServiceRoutes(Protocol):
    """The node's routes for Services (a NetlinkClient)."""

    async def replace_route(self, route: Route) -> None: ...

    async def delete_route(self, route: Route) -> None: ...


@dataclass(frozen=True, slots=True)
class ProxyMetrics:
    programming: Histogram
    sync_seconds: Histogram
    services: Gauge
    rejects: Counter

    @classmethod
    def declare(cls, metrics: Metrics) -> ProxyMetrics:
        return cls(
            programming=metrics.histogram(
                "proxy_network_programming_duration_seconds",
                "From an EndpointSlice change (its last-change-trigger-time) to its flows installed "
                "on this node.",
                buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
            ),
            sync_seconds=metrics.histogram(
                "proxy_sync_seconds",
                "Time to compute and install one batch of Service changes.",
                buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            ),
            services=metrics.gauge("proxy_services_installed", "Services the proxy has installed."),
            rejects=metrics.counter("proxy_rejects", "Connections to Services without endpoints answered."),
        )


class _Feed:
    """Informer handler: every event goes into the state and wakes the sync loop."""

    def __init__(self, proxier: Proxier, kind: str) -> None:
        self._proxier = proxier
        self._kind = kind

    def on_add(self, key: str, obj: Any) -> None:
        self._proxier.put(self._kind, key, obj)

    def on_update(self, key: str, old: Any, new: Any) -> None:
        self._proxier.put(self._kind, key, new)

    def on_delete(self, key: str, obj: Any) -> None:
        self._proxier.put(self._kind, key, None)

    def on_synced(self) -> None:
        self._proxier.synced(self._kind)


class Proxier(DaemonService):
    """AntreaProxy on one node."""

    def __init__(
        self,
        *,
        node: str,
        flows: FlowClient,
        api_client: ApiClient | None,
        node_port_addresses: Sequence[IPv4Address],
        metrics: ProxyMetrics | None = None,
        mgmt_socket: Path | None = None,
        synced: asyncio.Event | None = None,
        routes: ServiceRoutes | None = None,
        service_cidr: IPv4Network | None = None,
        gateway: str = "gw0",
    ) -> None:
        super().__init__(logger=log)
        self._flows = flows
        self._api_client = api_client
        self._node_port_addresses = list(node_port_addresses)
        self._metrics = metrics
        self._mgmt_socket = mgmt_socket or flows.mgmt_socket
        self._routes = routes
        self._service_cidr = service_cidr
        self._gateway = gateway
        cookies = flows.cookies
        self.state = ProxyState(node, lambda key: cookies(Category.SERVICE, name_id(key)))
        self._wake = asyncio.Event()
        self._started_at = time.time() - 1.0  # trigger times have whole seconds
        self._synced_kinds: set[str] = set()
        self._ready = asyncio.Event()
        self.installed = synced if synced is not None else asyncio.Event()
        """Set once the first sync (every Service and EndpointSlice listed) is installed."""
        self.syncs = 0
        self._external: frozenset[IPv4Address] = frozenset()
        """The external Service addresses the node routes into OVS now."""

    # -- input -----------------------------------------------------------------------------------

    def put(self, kind: str, key: str, obj: Service | EndpointSlice | None) -> None:
        if kind == "service":
            if obj is None:
                self.state.delete_service(key)
            else:
                assert isinstance(obj, Service)
                self.state.set_service(obj)
        elif obj is None:
            self.state.delete_slice(key)
        else:
            assert isinstance(obj, EndpointSlice)
            self.state.set_slice(obj)
        self._wake.set()

    def synced(self, kind: str) -> None:
        self._synced_kinds.add(kind)
        if self._synced_kinds == {"service", "slice"}:
            self._ready.set()
            self._wake.set()

    def programmed(self) -> list[tuple[Service, tuple[ProgrammedPort, ...]]]:
        """Every Service and what this node programmed for each of its ports."""
        return [(s, self.state.programmed(s.key)) for s in self.state.services()]

    # -- lifecycle -----------------------------------------------------------------------------

    async def _start(self) -> None:
        cookie = self._flows.cookies(Category.SERVICE)
        node_flows = P.node_port_mark_flows(self._node_port_addresses, cookie=cookie)
        if self._routes is not None and self._service_cidr is not None:
            node_flows += P.node_port_mark_flows([noderedirect.NODE_PORT_VIRTUAL_IP], cookie=cookie)
            node_flows.append(arp.arp_responder_flow(SERVICE_NEXT_HOP, R.VIRTUAL_MAC, cookie=cookie))
            await self._route_services()
            self._flows.add_replay_listener(self._route_services)
            await noderedirect.install(self._node_port_addresses)
        await self._flows.sync(NODE_OWNER, node_flows)
        if self._api_client is not None:
            services: Informer[Service | None] = Informer(
                self._api_client,
                SERVICES,
                _trim(service_from_json),
                handler=_Feed(self, "service"),
                name="services",
            )
            slices: Informer[EndpointSlice | None] = Informer(
                self._api_client,
                ENDPOINT_SLICES,
                _trim(slice_from_json),
                handler=_Feed(self, "slice"),
                name="endpointslices",
            )
            self._tasks.spawn(services.run(), name="service-informer")
            self._tasks.spawn(slices.run(), name="endpointslice-informer")
        self._tasks.spawn(self._sync_loop(), name="proxy-sync")
        self._tasks.spawn(
            serve_packet_ins(self._mgmt_socket, SERVICE_LB.id, self._reject, what="rejects"),
            name="proxy-rejects",
        )

    def _into_ovs(self, dst: IPv4Network | IPv4Address) -> Route:
        return Route(IPv4Network(dst), self._gateway, gateway=SERVICE_NEXT_HOP, onlink=True)

    async def _route_services(self) -> None:
        """The node's routes to the Service CIDR, the NodePort address and the external Service
        addresses through gw0 (again after gw0 was recreated)."""
        assert self._routes is not None and self._service_cidr is not None
        for dst in (self._service_cidr, noderedirect.NODE_PORT_VIRTUAL_IP, *sorted(self._external)):
            await self._routes.replace_route(self._into_ovs(dst))

    async def _route_external(self) -> None:
        """Route the external addresses of the Services installed now into OVS, and no other
        (an agent that starts again finds none of its own: the peer routes' cleanup removes every
        route through gw0 but the peers')."""
        if self._routes is None or self._service_cidr is None:
            return
        wanted = noderedirect.external_addresses(self.state.services())
        routed = set(self._external)
        for ip in sorted(wanted ^ self._external):
            route = self._into_ovs(ip)
            try:  # one route that fails is tried again at the next sync; the others go on
                if ip in wanted:
                    await self._routes.replace_route(route)
                    routed.add(ip)
                else:
                    await self._routes.delete_route(route)
                    routed.discard(ip)
            except NetworkConfigError as exc:
                log.error("the route %s of an external Service address failed: %s", route, exc)
        self._external = frozenset(routed)

    async def _sync_loop(self) -> None:
        await self._ready.wait()
        backoff = 0.1
        resync = False
        while True:
            if not resync:
                await self._wake.wait()
            self._wake.clear()
            try:
                if resync:
                    await self._resync()
                    resync = False
                await self.sync_once()
                backoff = 0.1
            except OpenFlowError as exc:
                log.error("installing Service flows failed (%s); resyncing in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                resync = True
            except FlowsNotInstalledError as exc:
                # The flow client keeps them desired and installs them when ovs-vswitchd is back
                # (a soak found this loop ended by it, leaving the node's Services as they were).
                log.warning("Service flows recorded, not yet installed: %s", exc)

    async def sync_once(self) -> None:
        """Install what changed since the last sync (one bundle)."""
        started = time.perf_counter()
        change = self.state.changes()
        for conflict in change.conflicts:
            log.warning("Service address conflict: %s", conflict)
        if change:
            await self._flows.update(
                OWNER,
                put=change.put,
                remove=change.remove,
                put_groups=change.put_groups,
                remove_groups=change.remove_groups,
            )
            await self._route_external()
        self.syncs += 1
        self.installed.set()
        done = time.time()
        if self._metrics is not None:
            self._metrics.sync_seconds.observe(time.perf_counter() - started)
            self._metrics.services.set(len(self.state.services()))
            for trigger in change.trigger_times:
                # Changes made before this agent started say nothing about how fast it programs.
                if trigger >= self._started_at:
                    self._metrics.programming.observe(max(0.0, done - trigger))
        if change:
            log.debug("Service sync: %d services, %d flows, %d groups", len(change.services), len(change.put),
                      len(change.put_groups))  # fmt: skip

    async def _resync(self) -> None:
        """Make the switch hold exactly what the state says (after a refused bundle)."""
        self.state.changes()
        await self._flows.sync(OWNER, self.state.all_flows(), groups=self.state.all_groups())

    # -- rejects -------------------------------------------------------------------------------

    async def _reject(self, packet_in: PacketIn, conn: OpenFlowConnection) -> None:
        if packet_in.in_port is None:
            return
        reply = reject_reply(packet_in.data)
        if reply is not None:
            await conn.packet_out(reply, packet_in.in_port)
            if self._metrics is not None:
                self._metrics.rejects.inc()


def _trim(convert: Any) -> Any:
    """Informer trim: the typed object, or None for objects the proxy leaves alone."""

    def trim(obj: dict[str, Any]) -> Any:
        return convert(obj)

    return trim
