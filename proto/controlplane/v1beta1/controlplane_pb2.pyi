from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Protocol(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROTOCOL_UNSPECIFIED: _ClassVar[Protocol]
    TCP: _ClassVar[Protocol]
    UDP: _ClassVar[Protocol]
    SCTP: _ClassVar[Protocol]

class Tier(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIER_NETWORK_POLICY: _ClassVar[Tier]
    TIER_ADMIN: _ClassVar[Tier]
    TIER_BASELINE: _ClassVar[Tier]

class RuleAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCEPT: _ClassVar[RuleAction]
    DENY: _ClassVar[RuleAction]
    PASS: _ClassVar[RuleAction]

class Direction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DIRECTION_UNSPECIFIED: _ClassVar[Direction]
    IN: _ClassVar[Direction]
    OUT: _ClassVar[Direction]

class EventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_TYPE_UNSPECIFIED: _ClassVar[EventType]
    ADDED: _ClassVar[EventType]
    MODIFIED: _ClassVar[EventType]
    DELETED: _ClassVar[EventType]
    INITIAL_EVENTS_END: _ClassVar[EventType]

class ObjectKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OBJECT_KIND_UNSPECIFIED: _ClassVar[ObjectKind]
    NETWORK_POLICY: _ClassVar[ObjectKind]
    ADDRESS_GROUP: _ClassVar[ObjectKind]
    APPLIED_TO_GROUP: _ClassVar[ObjectKind]
PROTOCOL_UNSPECIFIED: Protocol
TCP: Protocol
UDP: Protocol
SCTP: Protocol
TIER_NETWORK_POLICY: Tier
TIER_ADMIN: Tier
TIER_BASELINE: Tier
ACCEPT: RuleAction
DENY: RuleAction
PASS: RuleAction
DIRECTION_UNSPECIFIED: Direction
IN: Direction
OUT: Direction
EVENT_TYPE_UNSPECIFIED: EventType
ADDED: EventType
MODIFIED: EventType
DELETED: EventType
INITIAL_EVENTS_END: EventType
OBJECT_KIND_UNSPECIFIED: ObjectKind
NETWORK_POLICY: ObjectKind
ADDRESS_GROUP: ObjectKind
APPLIED_TO_GROUP: ObjectKind

class PodReference(_message.Message):
    __slots__ = ("namespace", "name")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class NamedPort(_message.Message):
    __slots__ = ("name", "port", "protocol")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    name: str
    port: int
    protocol: Protocol
    def __init__(self, name: _Optional[str] = ..., port: _Optional[int] = ..., protocol: _Optional[_Union[Protocol, str]] = ...) -> None: ...

class GroupMember(_message.Message):
    __slots__ = ("pod", "ips", "ports", "node")
    POD_FIELD_NUMBER: _ClassVar[int]
    IPS_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    pod: PodReference
    ips: _containers.RepeatedScalarFieldContainer[bytes]
    ports: _containers.RepeatedCompositeFieldContainer[NamedPort]
    node: str
    def __init__(self, pod: _Optional[_Union[PodReference, _Mapping]] = ..., ips: _Optional[_Iterable[bytes]] = ..., ports: _Optional[_Iterable[_Union[NamedPort, _Mapping]]] = ..., node: _Optional[str] = ...) -> None: ...

class AddressGroup(_message.Message):
    __slots__ = ("name", "members")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    name: str
    members: _containers.RepeatedCompositeFieldContainer[GroupMember]
    def __init__(self, name: _Optional[str] = ..., members: _Optional[_Iterable[_Union[GroupMember, _Mapping]]] = ...) -> None: ...

class AppliedToGroup(_message.Message):
    __slots__ = ("name", "members")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    name: str
    members: _containers.RepeatedCompositeFieldContainer[GroupMember]
    def __init__(self, name: _Optional[str] = ..., members: _Optional[_Iterable[_Union[GroupMember, _Mapping]]] = ...) -> None: ...

class GroupPatch(_message.Message):
    __slots__ = ("name", "added", "removed")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDED_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    name: str
    added: _containers.RepeatedCompositeFieldContainer[GroupMember]
    removed: _containers.RepeatedCompositeFieldContainer[GroupMember]
    def __init__(self, name: _Optional[str] = ..., added: _Optional[_Iterable[_Union[GroupMember, _Mapping]]] = ..., removed: _Optional[_Iterable[_Union[GroupMember, _Mapping]]] = ...) -> None: ...

class IPNet(_message.Message):
    __slots__ = ("ip", "prefix_length")
    IP_FIELD_NUMBER: _ClassVar[int]
    PREFIX_LENGTH_FIELD_NUMBER: _ClassVar[int]
    ip: bytes
    prefix_length: int
    def __init__(self, ip: _Optional[bytes] = ..., prefix_length: _Optional[int] = ...) -> None: ...

class IPBlock(_message.Message):
    __slots__ = ("cidr", "excepts")
    CIDR_FIELD_NUMBER: _ClassVar[int]
    EXCEPTS_FIELD_NUMBER: _ClassVar[int]
    cidr: IPNet
    excepts: _containers.RepeatedCompositeFieldContainer[IPNet]
    def __init__(self, cidr: _Optional[_Union[IPNet, _Mapping]] = ..., excepts: _Optional[_Iterable[_Union[IPNet, _Mapping]]] = ...) -> None: ...

class Peer(_message.Message):
    __slots__ = ("address_groups", "ip_blocks", "fqdns")
    ADDRESS_GROUPS_FIELD_NUMBER: _ClassVar[int]
    IP_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    FQDNS_FIELD_NUMBER: _ClassVar[int]
    address_groups: _containers.RepeatedScalarFieldContainer[str]
    ip_blocks: _containers.RepeatedCompositeFieldContainer[IPBlock]
    fqdns: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, address_groups: _Optional[_Iterable[str]] = ..., ip_blocks: _Optional[_Iterable[_Union[IPBlock, _Mapping]]] = ..., fqdns: _Optional[_Iterable[str]] = ...) -> None: ...

class Service(_message.Message):
    __slots__ = ("protocol", "port_number", "port_name", "end_port")
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    PORT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PORT_NAME_FIELD_NUMBER: _ClassVar[int]
    END_PORT_FIELD_NUMBER: _ClassVar[int]
    protocol: Protocol
    port_number: int
    port_name: str
    end_port: int
    def __init__(self, protocol: _Optional[_Union[Protocol, str]] = ..., port_number: _Optional[int] = ..., port_name: _Optional[str] = ..., end_port: _Optional[int] = ...) -> None: ...

class Rule(_message.Message):
    __slots__ = ("direction", "peer", "services", "action", "name", "index")
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    direction: Direction
    peer: Peer
    services: _containers.RepeatedCompositeFieldContainer[Service]
    action: RuleAction
    name: str
    index: int
    def __init__(self, direction: _Optional[_Union[Direction, str]] = ..., peer: _Optional[_Union[Peer, _Mapping]] = ..., services: _Optional[_Iterable[_Union[Service, _Mapping]]] = ..., action: _Optional[_Union[RuleAction, str]] = ..., name: _Optional[str] = ..., index: _Optional[int] = ...) -> None: ...

class PolicyReference(_message.Message):
    __slots__ = ("namespace", "name", "uid")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    uid: str
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ..., uid: _Optional[str] = ...) -> None: ...

class NetworkPolicy(_message.Message):
    __slots__ = ("name", "source_ref", "generation", "rules", "applied_to_groups", "tier", "priority")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_REF_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    APPLIED_TO_GROUPS_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    name: str
    source_ref: PolicyReference
    generation: int
    rules: _containers.RepeatedCompositeFieldContainer[Rule]
    applied_to_groups: _containers.RepeatedScalarFieldContainer[str]
    tier: Tier
    priority: int
    def __init__(self, name: _Optional[str] = ..., source_ref: _Optional[_Union[PolicyReference, _Mapping]] = ..., generation: _Optional[int] = ..., rules: _Optional[_Iterable[_Union[Rule, _Mapping]]] = ..., applied_to_groups: _Optional[_Iterable[str]] = ..., tier: _Optional[_Union[Tier, str]] = ..., priority: _Optional[int] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("type", "kind", "name", "resource_version", "network_policy", "address_group", "applied_to_group", "patch")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_VERSION_FIELD_NUMBER: _ClassVar[int]
    NETWORK_POLICY_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_GROUP_FIELD_NUMBER: _ClassVar[int]
    APPLIED_TO_GROUP_FIELD_NUMBER: _ClassVar[int]
    PATCH_FIELD_NUMBER: _ClassVar[int]
    type: EventType
    kind: ObjectKind
    name: str
    resource_version: int
    network_policy: NetworkPolicy
    address_group: AddressGroup
    applied_to_group: AppliedToGroup
    patch: GroupPatch
    def __init__(self, type: _Optional[_Union[EventType, str]] = ..., kind: _Optional[_Union[ObjectKind, str]] = ..., name: _Optional[str] = ..., resource_version: _Optional[int] = ..., network_policy: _Optional[_Union[NetworkPolicy, _Mapping]] = ..., address_group: _Optional[_Union[AddressGroup, _Mapping]] = ..., applied_to_group: _Optional[_Union[AppliedToGroup, _Mapping]] = ..., patch: _Optional[_Union[GroupPatch, _Mapping]] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ("node_name",)
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    node_name: str
    def __init__(self, node_name: _Optional[str] = ...) -> None: ...

class WatchBatch(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[Event]
    def __init__(self, events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ...) -> None: ...

class PolicyRealization(_message.Message):
    __slots__ = ("policy_name", "generation", "error")
    POLICY_NAME_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    policy_name: str
    generation: int
    error: str
    def __init__(self, policy_name: _Optional[str] = ..., generation: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...

class StatusReport(_message.Message):
    __slots__ = ("node_name", "full", "policies", "forgotten", "agent")
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    FULL_FIELD_NUMBER: _ClassVar[int]
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    FORGOTTEN_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    node_name: str
    full: bool
    policies: _containers.RepeatedCompositeFieldContainer[PolicyRealization]
    forgotten: _containers.RepeatedScalarFieldContainer[str]
    agent: AgentInfo
    def __init__(self, node_name: _Optional[str] = ..., full: _Optional[bool] = ..., policies: _Optional[_Iterable[_Union[PolicyRealization, _Mapping]]] = ..., forgotten: _Optional[_Iterable[str]] = ..., agent: _Optional[_Union[AgentInfo, _Mapping]] = ...) -> None: ...

class AgentInfo(_message.Message):
    __slots__ = ("version", "api_address", "ovs_version", "node_ip", "pod_cidr", "tunnel_type", "pods", "flows", "checks", "rules", "api_ca")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    API_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    OVS_VERSION_FIELD_NUMBER: _ClassVar[int]
    NODE_IP_FIELD_NUMBER: _ClassVar[int]
    POD_CIDR_FIELD_NUMBER: _ClassVar[int]
    TUNNEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    PODS_FIELD_NUMBER: _ClassVar[int]
    FLOWS_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    API_CA_FIELD_NUMBER: _ClassVar[int]
    version: str
    api_address: str
    ovs_version: str
    node_ip: str
    pod_cidr: str
    tunnel_type: str
    pods: int
    flows: _containers.RepeatedCompositeFieldContainer[TableFlows]
    checks: _containers.RepeatedCompositeFieldContainer[HealthCheck]
    rules: _containers.RepeatedCompositeFieldContainer[RuleTraffic]
    api_ca: str
    def __init__(self, version: _Optional[str] = ..., api_address: _Optional[str] = ..., ovs_version: _Optional[str] = ..., node_ip: _Optional[str] = ..., pod_cidr: _Optional[str] = ..., tunnel_type: _Optional[str] = ..., pods: _Optional[int] = ..., flows: _Optional[_Iterable[_Union[TableFlows, _Mapping]]] = ..., checks: _Optional[_Iterable[_Union[HealthCheck, _Mapping]]] = ..., rules: _Optional[_Iterable[_Union[RuleTraffic, _Mapping]]] = ..., api_ca: _Optional[str] = ...) -> None: ...

class TableFlows(_message.Message):
    __slots__ = ("table", "name", "flows")
    TABLE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    FLOWS_FIELD_NUMBER: _ClassVar[int]
    table: int
    name: str
    flows: int
    def __init__(self, table: _Optional[int] = ..., name: _Optional[str] = ..., flows: _Optional[int] = ...) -> None: ...

class HealthCheck(_message.Message):
    __slots__ = ("name", "failure")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    name: str
    failure: str
    def __init__(self, name: _Optional[str] = ..., failure: _Optional[str] = ...) -> None: ...

class RuleTraffic(_message.Message):
    __slots__ = ("policy_name", "rule_index", "packets", "bytes")
    POLICY_NAME_FIELD_NUMBER: _ClassVar[int]
    RULE_INDEX_FIELD_NUMBER: _ClassVar[int]
    PACKETS_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    policy_name: str
    rule_index: int
    packets: int
    bytes: int
    def __init__(self, policy_name: _Optional[str] = ..., rule_index: _Optional[int] = ..., packets: _Optional[int] = ..., bytes: _Optional[int] = ...) -> None: ...

class StatusReportResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
