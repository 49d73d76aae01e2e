"""Kubernetes NetworkPolicy to internal policy: rules that name groups, and the groups they need.

The v1 semantics live here: the spec podSelector is the one AppliedToGroup; each selector peer
becomes an AddressGroup; an empty `from`/`to` allows every address (or, for egress to named
ports, every pod, so agents can resolve the port names); a policyType with no rules adds a rule
with an empty peer that only isolates the direction.
"""

from __future__ import annotations

from controlplane.compute.groupselector import GroupSelector
from controlplane.compute.inputs import NetworkPolicy, PolicyRule
from controlplane.compute.labels import EVERYTHING
from pyantrea_api.ipnet import ALL_IPV4, ALL_IPV6
from pyantrea_api.objects import (
    Direction,
    InternalNetworkPolicy,
    IPBlock,
    Peer,
    PolicyReference,
    Rule,
    Service,
)
from pyantrea_api.values import value

ALL_PODS = GroupSelector.across_namespaces(EVERYTHING, EVERYTHING)
ALL_ADDRESSES = (IPBlock(ALL_IPV4, ()), IPBlock(ALL_IPV6, ()))
_NO_PEER = Peer((), ())


@value
class Translation:
    """An internal policy and the selectors of the groups it names."""

    policy: InternalNetworkPolicy
    applied_to: GroupSelector
    address_groups: tuple[GroupSelector, ...]
    """Unique, in order of first use."""


def translate(policy: NetworkPolicy) -> Translation:
    """The internal form of a policy."""
    applied_to = GroupSelector.in_namespace(policy.namespace, policy.pod_selector)
    address_groups: dict[str, GroupSelector] = {}
    rules = []
    for direction, spec_rules in ((Direction.IN, policy.ingress), (Direction.OUT, policy.egress)):
        if direction not in policy.policy_types:
            continue
        for rule in spec_rules:
            rules.append(_rule(policy.namespace, direction, rule, address_groups))
        if not spec_rules:
            rules.append(Rule(direction, _NO_PEER, ()))
    internal = InternalNetworkPolicy(
        name=policy.uid,
        source_ref=PolicyReference(policy.namespace, policy.name, policy.uid),
        generation=policy.generation,
        rules=tuple(rules),
        applied_to_groups=(applied_to.name,),
    )
    return Translation(internal, applied_to, tuple(address_groups.values()))


def _rule(
    namespace: str, direction: Direction, rule: PolicyRule, address_groups: dict[str, GroupSelector]
) -> Rule:
    services = tuple(Service(p.protocol, p.port, p.end_port) for p in rule.ports)
    group_names: dict[str, None] = {}
    blocks: list[IPBlock] = []
    if not rule.peers:
        if direction is Direction.OUT and any(isinstance(s.port, str) for s in services):
            group_names[ALL_PODS.name] = None
            address_groups.setdefault(ALL_PODS.normalized, ALL_PODS)
        else:
            blocks.extend(ALL_ADDRESSES)
    for peer in rule.peers:
        if peer.ip_block is not None:
            blocks.append(peer.ip_block)
            continue
        if peer.namespace_selector is not None:
            selector = GroupSelector.across_namespaces(
                peer.namespace_selector, peer.pod_selector or EVERYTHING
            )
        else:
            selector = GroupSelector.in_namespace(namespace, peer.pod_selector or EVERYTHING)
        selector = address_groups.setdefault(selector.normalized, selector)
        group_names[selector.name] = None
    return Rule(direction, Peer(tuple(group_names), tuple(dict.fromkeys(blocks))), services)
