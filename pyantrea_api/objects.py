"""The controlplane API's policy objects, Antrea's three-object model: internal NetworkPolicies
whose rules name groups, AddressGroups (who a rule talks to) and AppliedToGroups (whom a policy
protects), the member patches that carry group changes, and the values they are built from
(protocols, directions, ipBlocks, named ports).

The controller computes them (`controlplane.compute`) and agents enforce them; they mirror the
controlplane proto messages (`pyantrea_api.convert`). The controller keeps spans beside them in
its store.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from pyantrea_api.ipnet import IPNet, PackedIP
from pyantrea_api.values import value


class Protocol(enum.StrEnum):
    """An L4 protocol a NetworkPolicy port or a Service port can name (a `str`: its name, as
    Kubernetes writes it)."""

    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"


class Tier(enum.Enum):
    """Where a policy's rules are decided, in this order: ClusterNetworkPolicy's Admin tier,
    Kubernetes NetworkPolicy, then ClusterNetworkPolicy's Baseline tier."""

    ADMIN = "Admin"
    NETWORK_POLICY = "NetworkPolicy"
    BASELINE = "Baseline"


class RuleAction(enum.Enum):
    """What a rule does with the traffic it matches; a NetworkPolicy rule always accepts."""

    ACCEPT = "Accept"
    DENY = "Deny"
    PASS = "Pass"
    """Skip the rest of the tier: Admin hands the decision to NetworkPolicy, then Baseline."""


class Direction(enum.Enum):
    """A policy direction; `IN` is Kubernetes' Ingress, `OUT` its Egress."""

    IN = "In"
    OUT = "Out"


@value
class NamedPort:
    """A named container port; agents resolve policy ports given by name with these."""

    name: str
    port: int
    protocol: Protocol


@dataclass(frozen=True, slots=True, order=True)
class IPBlock:
    """`ipBlock`: a CIDR minus some CIDRs inside it."""

    cidr: IPNet
    excepts: tuple[IPNet, ...]


PodKey = tuple[str, str]
"""(namespace, name) of a pod: the identity of a group member."""


@value
class GroupMember:
    """A pod as a group member: reference, IPs, named ports (to resolve named policy ports), node."""

    namespace: str
    name: str
    ips: tuple[PackedIP, ...]
    ports: tuple[NamedPort, ...]
    node: str

    @property
    def key(self) -> PodKey:
        """The member's identity within a group; a patch removes the old value before adding."""
        return (self.namespace, self.name)


@value
class AddressGroup:
    """Pods that rules name as peers; every node in its span gets every member."""

    name: str
    members: tuple[GroupMember, ...]


@value
class AppliedToGroup:
    """Pods a policy applies to; a node sees only the members it hosts."""

    name: str
    members: tuple[GroupMember, ...]


@value
class GroupPatch:
    """A change of an AddressGroup's or AppliedToGroup's members: apply `removed`, then `added`."""

    name: str
    added: tuple[GroupMember, ...]
    removed: tuple[GroupMember, ...]


@value
class Service:
    """A rule's port match: `port` None is every port; a str is a named port; `end_port` a range."""

    protocol: Protocol
    port: int | str | None
    end_port: int | None


@value
class Peer:
    """A rule's other side: the pods of the named AddressGroups, the ipBlocks, and the addresses
    that DNS answers seen by the agent give the domain names `fqdns` (lower case, no final dot;
    a leading `*.` matches one or more whole labels).

    A peer with none matches nothing: a rule with it only isolates its direction.
    """

    address_groups: tuple[str, ...]
    ip_blocks: tuple[IPBlock, ...]
    fqdns: tuple[str, ...] = ()


@value
class Rule:
    """One rule: traffic in `direction` from/to `peer` on `services` (empty: all ports).

    A NetworkPolicy's rules accept; a ClusterNetworkPolicy's carry their action, their name and
    their position among the policy's rules of that direction (`index`: 0 is checked first).
    """

    direction: Direction
    peer: Peer
    services: tuple[Service, ...]
    action: RuleAction = RuleAction.ACCEPT
    name: str = ""
    index: int = 0


@value
class PolicyReference:
    """The Kubernetes policy an internal policy comes from: a NetworkPolicy, or a
    ClusterNetworkPolicy (cluster-scoped: `namespace` empty)."""

    namespace: str
    name: str
    uid: str

    @property
    def kind(self) -> str:
        return "NetworkPolicy" if self.namespace else "ClusterNetworkPolicy"

    @property
    def display(self) -> str:
        """`ns/name` of a NetworkPolicy, `name` of a ClusterNetworkPolicy."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@value
class InternalNetworkPolicy:
    """A NetworkPolicy or ClusterNetworkPolicy as agents get it, named by its UID.

    `tier` and `priority` order it: a ClusterNetworkPolicy's tier (Admin or Baseline) and its
    priority in the tier (0-1000, lower first); a NetworkPolicy has tier NETWORK_POLICY.
    """

    name: str
    source_ref: PolicyReference
    generation: int
    rules: tuple[Rule, ...]
    applied_to_groups: tuple[str, ...]
    tier: Tier = Tier.NETWORK_POLICY
    priority: int = 0
