"""Every conversion between the controlplane values and the `pyantrea.controlplane.v1beta1`
protobuf messages, in both directions: the controller encodes what it sends, the agent decodes
what it receives, and both use the same values (`pyantrea_api.objects`,
`pyantrea_api.events`, `pyantrea_api.reports`).

Decoding raises `ConversionError` naming the message field and the bad value, so an agent
treats a message it cannot read like any other stream error (it watches again).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from proto.controlplane.v1beta1 import controlplane_pb2 as pb
from pyantrea_api.events import EventType, NodeEvent, ObjectKind, Payload
from pyantrea_api.ipnet import IPNet
from pyantrea_api.objects import (
    AddressGroup,
    AppliedToGroup,
    Direction,
    GroupMember,
    GroupPatch,
    InternalNetworkPolicy,
    IPBlock,
    NamedPort,
    Peer,
    PolicyReference,
    Protocol,
    Rule,
    RuleAction,
    Service,
    Tier,
)
from pyantrea_api.reports import AgentInfo, HealthCheck, Realization, RuleTraffic, StatusReport, TableFlows

E = TypeVar("E")


class ConversionError(ValueError):
    """A received message holds a value the controlplane values cannot represent."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field


_PROTOCOLS = {Protocol.TCP: pb.TCP, Protocol.UDP: pb.UDP, Protocol.SCTP: pb.SCTP}
_PROTOCOLS_BACK = {number: protocol for protocol, number in _PROTOCOLS.items()}
_DIRECTIONS = {Direction.IN: pb.IN, Direction.OUT: pb.OUT}
_DIRECTIONS_BACK = {number: direction for direction, number in _DIRECTIONS.items()}
_TIERS = {
    Tier.NETWORK_POLICY: pb.TIER_NETWORK_POLICY,
    Tier.ADMIN: pb.TIER_ADMIN,
    Tier.BASELINE: pb.TIER_BASELINE,
}
_TIERS_BACK = {number: tier for tier, number in _TIERS.items()}
_ACTIONS = {RuleAction.ACCEPT: pb.ACCEPT, RuleAction.DENY: pb.DENY, RuleAction.PASS: pb.PASS}
_ACTIONS_BACK = {number: action for action, number in _ACTIONS.items()}
_EVENT_TYPES = {EventType.ADDED: pb.ADDED, EventType.MODIFIED: pb.MODIFIED, EventType.DELETED: pb.DELETED}
_EVENT_TYPES_BACK = {number: kind for kind, number in _EVENT_TYPES.items()}
_KINDS = {
    ObjectKind.NETWORK_POLICY: pb.NETWORK_POLICY,
    ObjectKind.ADDRESS_GROUP: pb.ADDRESS_GROUP,
    ObjectKind.APPLIED_TO_GROUP: pb.APPLIED_TO_GROUP,
}
_KINDS_BACK = {number: kind for kind, number in _KINDS.items()}
_IP_LENGTHS = (4, 16)


def _enum(table: Mapping[int, E], number: int, field: str) -> E:
    try:
        return table[number]
    except KeyError:
        raise ConversionError(field, f"unknown value {number}") from None


# -- values to messages (the controller) --------------------------------------------------------


def member_to_proto(member: GroupMember) -> pb.GroupMember:
    message = pb.GroupMember(
        pod=pb.PodReference(namespace=member.namespace, name=member.name), ips=member.ips, node=member.node
    )
    if member.ports:
        message.ports.extend(
            pb.NamedPort(name=port.name, port=port.port, protocol=_PROTOCOLS[port.protocol])
            for port in member.ports
        )
    return message


def address_group_to_proto(group: AddressGroup) -> pb.AddressGroup:
    return pb.AddressGroup(name=group.name, members=[member_to_proto(m) for m in group.members])


def applied_to_group_to_proto(group: AppliedToGroup) -> pb.AppliedToGroup:
    return pb.AppliedToGroup(name=group.name, members=[member_to_proto(m) for m in group.members])


def patch_to_proto(patch: GroupPatch) -> pb.GroupPatch:
    return pb.GroupPatch(
        name=patch.name,
        added=[member_to_proto(m) for m in patch.added],
        removed=[member_to_proto(m) for m in patch.removed],
    )


def _ipnet_to_proto(net: IPNet) -> pb.IPNet:
    return pb.IPNet(ip=net.ip, prefix_length=net.prefix_len)


def _service_to_proto(service: Service) -> pb.Service:
    message = pb.Service(protocol=_PROTOCOLS[service.protocol])
    if isinstance(service.port, int):
        message.port_number = service.port
    elif isinstance(service.port, str):
        message.port_name = service.port
    if service.end_port is not None:
        message.end_port = service.end_port
    return message


def _rule_to_proto(rule: Rule) -> pb.Rule:
    peer = pb.Peer(
        address_groups=rule.peer.address_groups,
        ip_blocks=[
            pb.IPBlock(cidr=_ipnet_to_proto(b.cidr), excepts=[_ipnet_to_proto(e) for e in b.excepts])
            for b in rule.peer.ip_blocks
        ],
        fqdns=rule.peer.fqdns,
    )
    return pb.Rule(
        direction=_DIRECTIONS[rule.direction],
        peer=peer,
        services=[_service_to_proto(s) for s in rule.services],
        action=_ACTIONS[rule.action],
        name=rule.name,
        index=rule.index,
    )


def policy_to_proto(policy: InternalNetworkPolicy) -> pb.NetworkPolicy:
    ref = policy.source_ref
    return pb.NetworkPolicy(
        name=policy.name,
        source_ref=pb.PolicyReference(namespace=ref.namespace, name=ref.name, uid=ref.uid),
        generation=policy.generation,
        rules=[_rule_to_proto(rule) for rule in policy.rules],
        applied_to_groups=policy.applied_to_groups,
        tier=_TIERS[policy.tier],
        priority=policy.priority,
    )


def event_to_proto(event: NodeEvent) -> pb.Event:
    """A node's view of a store event."""
    message = pb.Event(
        type=_EVENT_TYPES[event.type],
        kind=_KINDS[event.kind],
        name=event.name,
        resource_version=event.resource_version,
    )
    obj = event.obj
    if isinstance(obj, InternalNetworkPolicy):
        message.network_policy.CopyFrom(policy_to_proto(obj))
    elif isinstance(obj, AddressGroup):
        message.address_group.CopyFrom(address_group_to_proto(obj))
    elif isinstance(obj, AppliedToGroup):
        message.applied_to_group.CopyFrom(applied_to_group_to_proto(obj))
    elif isinstance(obj, GroupPatch):
        message.patch.CopyFrom(patch_to_proto(obj))
    return message


def initial_events_end(resource_version: int) -> pb.Event:
    """The marker after the initial events of a watch, at the snapshot's version."""
    return pb.Event(type=pb.INITIAL_EVENTS_END, resource_version=resource_version)


def report_to_proto(report: StatusReport) -> pb.StatusReport:
    return pb.StatusReport(
        node_name=report.node_name,
        full=report.full,
        policies=[
            pb.PolicyRealization(policy_name=r.policy_name, generation=r.generation, error=r.error or "")
            for r in report.realizations
        ],
        forgotten=report.forgotten,
        agent=None if report.agent is None else _agent_to_proto(report.agent),
    )


def _agent_to_proto(info: AgentInfo) -> pb.AgentInfo:
    return pb.AgentInfo(
        version=info.version,
        api_address=info.api_address,
        api_ca=info.api_ca,
        ovs_version=info.ovs_version,
        node_ip=info.node_ip,
        pod_cidr=info.pod_cidr,
        tunnel_type=info.tunnel_type,
        pods=info.pods,
        flows=[pb.TableFlows(table=t.table, name=t.name, flows=t.flows) for t in info.flows],
        checks=[pb.HealthCheck(name=c.name, failure=c.failure or "") for c in info.checks],
        rules=[
            pb.RuleTraffic(
                policy_name=r.policy_name, rule_index=r.rule_index, packets=r.packets, bytes=r.bytes
            )
            for r in info.rules
        ],
    )


# -- messages to values (the agent) -------------------------------------------------------------


def member_from_proto(message: pb.GroupMember) -> GroupMember:
    ips = tuple(message.ips)
    for ip in ips:
        if len(ip) not in _IP_LENGTHS:
            raise ConversionError("GroupMember.ips", f"{ip!r} is neither 4 nor 16 bytes")
    ports = tuple(
        NamedPort(port.name, port.port, _enum(_PROTOCOLS_BACK, port.protocol, "NamedPort.protocol"))
        for port in message.ports
    )
    return GroupMember(message.pod.namespace, message.pod.name, ips, ports, message.node)


def address_group_from_proto(message: pb.AddressGroup) -> AddressGroup:
    return AddressGroup(message.name, tuple(member_from_proto(m) for m in message.members))


def applied_to_group_from_proto(message: pb.AppliedToGroup) -> AppliedToGroup:
    return AppliedToGroup(message.name, tuple(member_from_proto(m) for m in message.members))


def patch_from_proto(message: pb.GroupPatch) -> GroupPatch:
    return GroupPatch(
        message.name,
        tuple(member_from_proto(m) for m in message.added),
        tuple(member_from_proto(m) for m in message.removed),
    )


def _ipnet_from_proto(message: pb.IPNet, field: str) -> IPNet:
    if len(message.ip) not in _IP_LENGTHS:
        raise ConversionError(f"{field}.ip", f"{message.ip!r} is neither 4 nor 16 bytes")
    if not 0 <= message.prefix_length <= len(message.ip) * 8:
        raise ConversionError(f"{field}.prefix_length", f"{message.prefix_length} out of range")
    return IPNet(message.ip, message.prefix_length)


def _service_from_proto(message: pb.Service) -> Service:
    protocol = _enum(_PROTOCOLS_BACK, message.protocol, "Service.protocol")
    which = message.WhichOneof("port")
    port: int | str | None = None if which is None else getattr(message, which)
    end = message.end_port if message.HasField("end_port") else None
    return Service(protocol, port, end)


def _rule_from_proto(message: pb.Rule) -> Rule:
    blocks = tuple(
        IPBlock(
            _ipnet_from_proto(b.cidr, "IPBlock.cidr"),
            tuple(_ipnet_from_proto(e, "IPBlock.excepts") for e in b.excepts),
        )
        for b in message.peer.ip_blocks
    )
    return Rule(
        _enum(_DIRECTIONS_BACK, message.direction, "Rule.direction"),
        Peer(tuple(message.peer.address_groups), blocks, tuple(message.peer.fqdns)),
        tuple(_service_from_proto(s) for s in message.services),
        _enum(_ACTIONS_BACK, message.action, "Rule.action"),
        message.name,
        message.index,
    )


def policy_from_proto(message: pb.NetworkPolicy) -> InternalNetworkPolicy:
    ref = message.source_ref
    return InternalNetworkPolicy(
        message.name,
        PolicyReference(ref.namespace, ref.name, ref.uid),
        message.generation,
        tuple(_rule_from_proto(rule) for rule in message.rules),
        tuple(message.applied_to_groups),
        _enum(_TIERS_BACK, message.tier, "NetworkPolicy.tier"),
        message.priority,
    )


_PAYLOAD_FIELDS = {
    ObjectKind.NETWORK_POLICY: "network_policy",
    ObjectKind.ADDRESS_GROUP: "address_group",
    ObjectKind.APPLIED_TO_GROUP: "applied_to_group",
}
_DECODERS: dict[str, Callable[[Any], Payload]] = {
    "network_policy": policy_from_proto,
    "address_group": address_group_from_proto,
    "applied_to_group": applied_to_group_from_proto,
    "patch": patch_from_proto,
}


def event_from_proto(message: pb.Event) -> NodeEvent:
    """An ADDED, MODIFIED or DELETED event whose payload fits its type and kind: the whole
    object when ADDED, a patch when a group is MODIFIED, the whole policy when one is."""
    event_type = _enum(_EVENT_TYPES_BACK, message.type, "Event.type")
    kind = _enum(_KINDS_BACK, message.kind, "Event.kind")
    which = message.WhichOneof("object")
    if event_type is EventType.DELETED:
        expected = None
    elif event_type is EventType.MODIFIED and kind is not ObjectKind.NETWORK_POLICY:
        expected = "patch"
    else:
        expected = _PAYLOAD_FIELDS[kind]
    if which != expected:
        raise ConversionError(
            "Event.object", f"a {event_type.value} event of a {kind.value} carries {which or 'nothing'}"
        )
    obj = None if which is None else _DECODERS[which](getattr(message, which))
    if obj is not None and obj.name != message.name:
        raise ConversionError("Event.name", f"{message.name!r} names an object called {obj.name!r}")
    return NodeEvent(event_type, kind, message.resource_version, message.name, obj)


def report_from_proto(message: pb.StatusReport) -> StatusReport:
    return StatusReport(
        message.node_name,
        message.full,
        tuple(Realization(r.policy_name, r.generation, r.error or None) for r in message.policies),
        tuple(message.forgotten),
        _agent_from_proto(message.agent) if message.HasField("agent") else None,
    )


def _agent_from_proto(message: pb.AgentInfo) -> AgentInfo:
    return AgentInfo(
        version=message.version,
        api_address=message.api_address,
        ovs_version=message.ovs_version,
        node_ip=message.node_ip,
        pod_cidr=message.pod_cidr,
        tunnel_type=message.tunnel_type,
        pods=message.pods,
        flows=tuple(
            sorted((TableFlows(t.table, t.name, t.flows) for t in message.flows), key=lambda t: t.table)
        ),
        checks=tuple(HealthCheck(c.name, c.failure or None) for c in message.checks),
        rules=tuple(RuleTraffic(r.policy_name, r.rule_index, r.packets, r.bytes) for r in message.rules),
        api_ca=message.api_ca,
    )
