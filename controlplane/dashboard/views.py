"""The JSON documents of the controller's API and dashboard, made from the controller's state.

Each function takes values and returns JSON-serializable data; nothing here does I/O. One
document per kind, served at `/api/v1/<kind>` and all together in the dashboard's event stream:

* `controller`: version, node, health (readiness checks), agents watching, resource version;
* `agents`: every agent that watches now or sent a heartbeat: connection, heartbeat, datapath;
* `nodes`: every Node with its pod subnet and tunnel endpoint (from its agent's heartbeat);
* `networkpolicies`: realization (phase, nodes realized of desired) and the rules with their
  traffic summed over the nodes (and per node);
* `addressgroups`, `appliedtogroups`: members and span, with the policies that use them;
* `services`: every Service the agents programmed (AntreaProxy), per port its endpoints and
  each node's (made from the agents' answers, which the API fetches when asked).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from controlplane.server.watchers import Watcher
from controlplane.status.agents import Heartbeat
from controlplane.status.board import PolicyStatus
from pyantrea_api.ipnet import format_ip
from pyantrea_api.objects import Direction, GroupMember, InternalNetworkPolicy, Service
from pyantrea_api.rulenames import rule_names
from pyantrea_api.services import ProgrammedService

Json = dict[str, Any]
Span = frozenset[str]


def timestamp(seconds: float) -> str:
    """Seconds since the epoch as RFC 3339 UTC (Kubernetes' timestamps, with fractions)."""
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).isoformat()


def controller_view(
    *, version: str, node: str, checks: Mapping[str, str | None], watchers: int, resource_version: int
) -> Json:
    return {
        "version": version,
        "node": node,
        "healthy": all(failure is None for failure in checks.values()),
        "checks": dict(checks),
        "agentsConnected": watchers,
        "resourceVersion": resource_version,
    }


def agents_view(watchers: Sequence[Watcher], heartbeats: Sequence[Heartbeat]) -> list[Json]:
    """One entry per node whose agent watches now or sent a heartbeat, by node."""
    watching: dict[str, Watcher] = {}
    for watcher in sorted(watchers, key=lambda w: w.connected_at):
        watching[watcher.node] = watcher  # the latest watch of a node that reconnected
    beats = {beat.node: beat for beat in heartbeats}
    result = []
    for node in sorted(watching.keys() | beats.keys()):
        watch, beat = watching.get(node), beats.get(node)
        entry: Json = {"node": node, "connected": watch is not None}
        if watch is not None:
            entry |= {
                "peer": watch.peer,
                "connectedSince": timestamp(watch.connected_at),
                "eventsSent": watch.events_sent,
                "eventsQueued": watch.queued,
            }
        if beat is not None:
            info = beat.info
            entry |= {
                "lastHeartbeat": timestamp(beat.received_at),
                "version": info.version,
                "apiAddress": info.api_address,
                "apiCA": info.api_ca,
                "ovsVersion": info.ovs_version,
                "nodeIP": info.node_ip,
                "podCIDR": info.pod_cidr,
                "tunnelType": info.tunnel_type,
                "pods": info.pods,
                "flows": info.flow_count,
                "flowsByTable": [{"table": t.table, "name": t.name, "flows": t.flows} for t in info.flows],
                "healthy": info.healthy,
                "checks": {check.name: check.failure for check in info.checks},
            }
        result.append(entry)
    return result


def nodes_view(
    names: Iterable[str], watchers: Sequence[Watcher], heartbeats: Sequence[Heartbeat]
) -> list[Json]:
    """Every Node (and every node an agent reported from), with what its agent says about it."""
    beats = {beat.node: beat.info for beat in heartbeats}
    connected = {watcher.node for watcher in watchers}
    result = []
    for name in sorted(set(names) | beats.keys()):
        info = beats.get(name)
        result.append(
            {
                "name": name,
                "podCIDR": info.pod_cidr if info else None,
                "nodeIP": info.node_ip if info else None,
                "tunnelType": info.tunnel_type if info else None,
                "agentConnected": name in connected,
            }
        )
    return result


def _traffic(heartbeats: Sequence[Heartbeat]) -> dict[tuple[str, int], dict[str, tuple[int, int]]]:
    """Per (policy, rule index), each node's (packets, bytes)."""
    traffic: dict[tuple[str, int], dict[str, tuple[int, int]]] = {}
    for beat in heartbeats:
        for rule in beat.info.rules:
            traffic.setdefault((rule.policy_name, rule.rule_index), {})[beat.node] = (
                rule.packets,
                rule.bytes,
            )
    return traffic


def _service(service: Service) -> str:
    if service.port is None:
        return service.protocol.value
    end = f"-{service.end_port}" if service.end_port is not None else ""
    return f"{service.protocol.value}/{service.port}{end}"


def _rules(
    policy: InternalNetworkPolicy, traffic: Mapping[tuple[str, int], Mapping[str, tuple[int, int]]]
) -> list[Json]:
    result = []
    for index, (rule, name) in enumerate(zip(policy.rules, rule_names(policy), strict=True)):
        nodes = traffic.get((policy.name, index), {})
        result.append(
            {
                "name": name,
                "action": rule.action.value,
                "direction": "Ingress" if rule.direction is Direction.IN else "Egress",
                "addressGroups": list(rule.peer.address_groups),
                "ipBlocks": [
                    {"cidr": str(block.cidr), "except": [str(e) for e in block.excepts]}
                    for block in rule.peer.ip_blocks
                ],
                "ports": [_service(service) for service in rule.services],
                "packets": sum(packets for packets, _ in nodes.values()),
                "bytes": sum(count for _, count in nodes.values()),
                "nodes": {node: {"packets": p, "bytes": b} for node, (p, b) in sorted(nodes.items())},
            }
        )
    return result


def policies_view(
    statuses: Sequence[PolicyStatus],
    policies: Mapping[str, tuple[InternalNetworkPolicy, Span]],
    heartbeats: Sequence[Heartbeat],
) -> list[Json]:
    """Every NetworkPolicy's and ClusterNetworkPolicy's realization (`kind`; a ClusterNetworkPolicy
    has no namespace, and a tier and a priority), and, once computed, its groups, span and rules."""
    traffic = _traffic(heartbeats)
    result = []
    for status in statuses:
        entry = {
            "kind": status.kind, "namespace": status.namespace, "name": status.name, "uid": status.uid,
            **status.fields(),
        }  # fmt: skip
        if status.kind == "ClusterNetworkPolicy":
            entry |= {"tier": status.tier, "priority": status.priority, "unenforced": list(status.unenforced)}
        computed = policies.get(status.uid)
        if computed is not None:
            policy, span = computed
            entry |= {
                "appliedToGroups": list(policy.applied_to_groups),
                "span": sorted(span),
                "rules": _rules(policy, traffic),
            }
        result.append(entry)
    return result


def member_view(member: GroupMember) -> Json:
    return {
        "pod": f"{member.namespace}/{member.name}",
        "ips": [format_ip(ip) for ip in member.ips],
        "node": member.node,
    }


def groups_view(
    groups: Mapping[str, tuple[frozenset[GroupMember], Span]], users: Mapping[str, list[str]]
) -> list[Json]:
    """AddressGroups or AppliedToGroups with members and span, and the policies (`ns/name`) using each."""
    return [
        {
            "name": name,
            "policies": sorted(users.get(name, ())),
            "span": sorted(span),
            "members": [member_view(m) for m in sorted(members, key=lambda m: (m.namespace, m.name))],
        }
        for name, (members, span) in sorted(groups.items())
    ]


def group_users(
    policies: Iterable[InternalNetworkPolicy],
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The policies (`ns/name`) that use each AddressGroup, and each AppliedToGroup."""
    address: dict[str, list[str]] = {}
    applied: dict[str, list[str]] = {}
    for policy in policies:
        ref = f"{policy.source_ref.namespace}/{policy.source_ref.name}"
        for group in {g for rule in policy.rules for g in rule.peer.address_groups}:
            address.setdefault(group, []).append(ref)
        for group in policy.applied_to_groups:
            applied.setdefault(group, []).append(ref)
    return address, applied


def services_view(
    programmed: Mapping[str, Sequence[ProgrammedService]], unreachable: Mapping[str, str]
) -> Json:
    """Every Service an agent programmed, with, per port, the endpoints (all nodes' together,
    and each node's own: `cluster` for the cluster-wide group, `local` for a Local traffic
    policy's), and the nodes whose agent did not answer, with why."""
    merged: dict[str, Json] = {}
    ports: dict[str, dict[tuple[str, str, int], Json]] = {}
    for node in sorted(programmed):
        for service in programmed[node]:
            entry = merged.setdefault(
                service.key,
                {
                    "namespace": service.namespace,
                    "name": service.name,
                    "clusterIPs": list(service.cluster_ips),
                    "externalIPs": list(service.external_ips),
                    "sessionAffinityTimeout": service.affinity_timeout,
                    "nodes": [],
                },
            )
            entry["nodes"].append(node)
            for port in service.ports:
                merged_port = ports.setdefault(service.key, {}).setdefault(
                    (port.name, port.protocol, port.port),
                    {"name": port.name, "protocol": port.protocol, "port": port.port,
                     "nodePort": port.node_port, "endpoints": [], "byNode": {}},
                )  # fmt: skip
                merged_port["byNode"][node] = {
                    "cluster": list(port.cluster_endpoints),
                    "local": list(port.local_endpoints),
                }
                known = (
                    set(merged_port["endpoints"]) | set(port.cluster_endpoints) | set(port.local_endpoints)
                )
                merged_port["endpoints"] = sorted(known)
    services = []
    for key in sorted(merged):
        entry = merged[key]
        entry["ports"] = list(ports.get(key, {}).values())
        services.append(entry)
    return {"services": services, "unreachable": dict(sorted(unreachable.items()))}
