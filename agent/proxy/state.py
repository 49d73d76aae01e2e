"""The proxy's computation: Services and EndpointSlices in, minimal flow and group changes out.

Pure and incremental. `ProxyState` keeps the objects it was given and, per Service, the flows
and groups it last handed out. A change marks its Service dirty; `changes()` recomputes only the
dirty Services and returns the difference (flows and groups to put, identities and group ids to
remove), so one Service change costs what that Service costs, whatever the number of others.
Group ids are allocated per Service port (one for the cluster endpoints, one for the local ones
when a traffic policy is Local) and released when the port no longer needs them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from agent.openflow.builders import proxy as P
from agent.proxy.endpoints import PortEndpoint, categorize, port_endpoints
from agent.proxy.groupids import GroupIds
from agent.proxy.model import EndpointSlice, Service, ServicePort
from fastpath import Flow, Group, Match
from pyantrea_api.services import ProgrammedPort

FlowKey = tuple[int, int, Match]


@dataclass(slots=True)
class _Programmed:
    flows: dict[FlowKey, Flow] = field(default_factory=dict)
    groups: dict[int, Group] = field(default_factory=dict)
    group_keys: set[str] = field(default_factory=set)
    ports: tuple[ProgrammedPort, ...] = ()


@dataclass(slots=True)
class ProxyChange:
    """Flows and groups to put or remove, the Services they belong to, and the EndpointSlice
    trigger times they answer (for the network programming latency)."""

    put: list[Flow] = field(default_factory=list)
    remove: list[FlowKey] = field(default_factory=list)
    put_groups: list[Group] = field(default_factory=list)
    remove_groups: list[int] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    trigger_times: list[float] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.put or self.remove or self.put_groups or self.remove_groups)


class ProxyState:
    """Everything the proxy knows for one node."""

    def __init__(self, node: str, cookie_of: Callable[[str], int]) -> None:
        self.node = node
        self._cookie_of = cookie_of
        self._services: dict[str, Service] = {}
        self._slices: dict[str, EndpointSlice] = {}
        self._slices_of: dict[str, set[str]] = {}
        self._programmed: dict[str, _Programmed] = {}
        self._owner: dict[FlowKey, str] = {}
        self._dirty: set[str] = set()
        self._triggers: list[float] = []
        self.group_ids = GroupIds()

    # -- input -----------------------------------------------------------------------------------

    def set_service(self, service: Service) -> None:
        if self._services.get(service.key) != service:
            self._services[service.key] = service
            self._dirty.add(service.key)

    def delete_service(self, key: str) -> None:
        if self._services.pop(key, None) is not None:
            self._dirty.add(key)

    def set_slice(self, slice_: EndpointSlice) -> None:
        old = self._slices.get(slice_.key)
        if old == slice_:
            return
        if old is not None and old.service_key != slice_.service_key:
            self.delete_slice(old.key)
        self._slices[slice_.key] = slice_
        self._slices_of.setdefault(slice_.service_key, set()).add(slice_.key)
        self._dirty.add(slice_.service_key)
        if slice_.trigger_time is not None:
            self._triggers.append(slice_.trigger_time)

    def delete_slice(self, key: str) -> None:
        old = self._slices.pop(key, None)
        if old is None:
            return
        keys = self._slices_of.get(old.service_key)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._slices_of[old.service_key]
        self._dirty.add(old.service_key)

    def mark_all_dirty(self) -> None:
        self._dirty.update(self._services)
        self._dirty.update(self._programmed)

    # -- output ----------------------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        return bool(self._dirty)

    def services(self) -> list[Service]:
        return [self._services[k] for k in sorted(self._services)]

    def programmed(self, key: str) -> tuple[ProgrammedPort, ...]:
        found = self._programmed.get(key)
        return found.ports if found is not None else ()

    def all_flows(self) -> list[Flow]:
        return [flow for p in self._programmed.values() for flow in p.flows.values()]

    def all_groups(self) -> list[Group]:
        return [group for p in self._programmed.values() for group in p.groups.values()]

    def changes(self) -> ProxyChange:
        """Recompute the dirty Services; what to change in the datapath, and forget the dirt."""
        change = ProxyChange(trigger_times=self._triggers)
        self._triggers = []
        dirty, self._dirty = sorted(self._dirty), set()
        for key in dirty:
            self._recompute(key, change)
        return change

    def _recompute(self, key: str, change: ProxyChange) -> None:
        old = self._programmed.pop(key, _Programmed())
        for flow_key in old.flows:
            if self._owner.get(flow_key) == key:
                del self._owner[flow_key]
        service = self._services.get(key)
        new = _Programmed()
        if service is not None:
            slices = [self._slices[k] for k in sorted(self._slices_of.get(key, ()))]
            self._compute(service, slices, new, change)
        for group_key in old.group_keys - new.group_keys:
            self.group_ids.release(group_key)
        for flow_key, flow in new.flows.items():
            if old.flows.get(flow_key) != flow:
                change.put.append(flow)
        change.remove += [k for k in old.flows if k not in new.flows]
        for group_id, group in new.groups.items():
            if old.groups.get(group_id) != group:
                change.put_groups.append(group)
        change.remove_groups += [g for g in old.groups if g not in new.groups]
        if new.flows or new.groups:
            self._programmed[key] = new
        change.services.append(key)

    def _compute(
        self, service: Service, slices: list[EndpointSlice], out: _Programmed, change: ProxyChange
    ) -> None:
        cookie = self._cookie_of(service.key)
        external = bool(service.external_ips or service.load_balancer_ips)
        ports = []
        for port in service.ports:
            has_external = external or port.node_port is not None
            endpoints = port_endpoints(port, slices)
            cluster, local = categorize(endpoints, self.node)
            need_cluster = not service.internal_local or has_external
            need_local = service.internal_local or (service.external_local and has_external)
            base = f"{service.key}:{port.name}/{port.protocol}"
            cluster_id = self._group(
                base,
                cluster if need_cluster else [],
                service=service,
                port=port,
                out=out,
                snat_external=has_external,
            )
            local_id = self._group(
                base + "/local",
                local if need_local else [],
                service=service,
                port=port,
                out=out,
                snat_external=False,
            )
            internal_target = P.Target(local_id if service.internal_local else cluster_id)
            external_target = P.Target(local_id if service.external_local else cluster_id)
            affinity = service.affinity_timeout is not None
            flows: list[Flow] = []
            for ip in service.cluster_ips:
                flows.append(
                    self._lb(port, P.Frontend(ip, port.port, False), internal_target, affinity, cookie)
                )
            external_frontends = [
                P.Frontend(ip, port.port, True) for ip in (*service.external_ips, *service.load_balancer_ips)
            ]
            if port.node_port is not None:
                external_frontends.append(P.Frontend(None, port.node_port, True))
            for frontend in external_frontends:
                flows.append(self._lb(port, frontend, external_target, affinity, cookie))
                if service.external_local:
                    cluster_target = P.Target(cluster_id)
                    flows.append(P.service_lb_flow(port.protocol, frontend, cluster_target, affinity=affinity,
                                                   from_pod=True, cookie=cookie))  # fmt: skip
            for flow in flows:
                self._claim(service.key, flow, out, change)
            ports.append(
                ProgrammedPort(
                    port.name,
                    str(port.protocol),
                    port.port,
                    port.node_port,
                    tuple(f"{e.ip}:{e.port}" for e in cluster) if need_cluster else (),
                    tuple(f"{e.ip}:{e.port}" for e in local) if need_local else (),
                    cluster_id,
                    local_id,
                )
            )
        out.ports = tuple(ports)

    def _lb(
        self, port: ServicePort, frontend: P.Frontend, target: P.Target, affinity: bool, cookie: int
    ) -> Flow:
        return P.service_lb_flow(port.protocol, frontend, target, affinity=affinity, cookie=cookie)

    def _group(
        self,
        key: str,
        endpoints: list[PortEndpoint],
        *,
        service: Service,
        port: ServicePort,
        out: _Programmed,
        snat_external: bool,
    ) -> int | None:
        if not endpoints:
            return None
        group_id = self.group_ids.get(key)
        out.group_keys.add(key)
        affinity = service.affinity_timeout is not None
        backends = [P.Backend(e.ip, e.port, e.endpoint.node == self.node) for e in endpoints]
        out.groups[group_id] = P.endpoint_group(group_id, backends, affinity=affinity, protocol=port.protocol)
        cookie = self._cookie_of(service.key)
        snat = snat_external and not service.external_local
        for backend in backends:
            for flow in P.endpoint_dnat_flows(
                port.protocol, group_id, backend, snat_external=snat, cookie=cookie
            ):
                out.flows[flow.key] = flow
        if affinity:
            flow = P.learn_flow(port.protocol, group_id, service.affinity_timeout or 0, cookie=cookie)
            out.flows[flow.key] = flow
        return group_id

    def _claim(self, service: str, flow: Flow, out: _Programmed, change: ProxyChange) -> None:
        """A frontend flow, unless another Service has its address and port already."""
        holder = self._owner.get(flow.key)
        if holder is not None and holder != service:
            change.conflicts.append(f"{service} and {holder} both use {flow.match}; {holder} keeps it")
            return
        self._owner[flow.key] = service
        out.flows[flow.key] = flow


def fixed_flows(
    gateway_ip: IPv4Address, node_port_addresses: Iterable[IPv4Address], *, cookie: int
) -> list[Flow]:
    """The flows the proxy needs whatever Services exist."""
    return [
        P.conntrack_nat_flow(cookie=cookie),
        *P.fixed_flows(gateway_ip, cookie=cookie),
        *P.node_port_mark_flows(list(node_port_addresses), cookie=cookie),
    ]
