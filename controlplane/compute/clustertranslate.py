"""ClusterNetworkPolicy to internal policy: the API of sigs.k8s.io/network-policy-api v0.3.0.

The subject is the one AppliedToGroup (pods of the selected namespaces that the pod selector
matches); a `namespaces` or `pods` peer becomes an AddressGroup shared with every policy that
selects the same pods; `networks` become ipBlocks; a `nodes` peer becomes the /32 (or /128)
ipBlocks of the selected Nodes' addresses (InternalIP, ExternalIP), so a policy with node peers
is translated again when a Node's labels or addresses change. `protocols` become the rule's
services: a `destinationNamedPort` is the name under each protocol (the agent resolves it per
pod, and only the protocol the pod declares it with matches).

`domainNames` peers (experimental; the API allows them only in Accept rules) become the peer's
`fqdns`, normalized (`pyantrea_api.domainnames`): each agent learns their addresses from the DNS
answers its pods receive (`agent.fqdn`). What pyantrea does not enforce, and how it says so: a
peer with no field pyantrea knows fails closed as the API says: an Accept rule's matches
nothing, a Deny or Pass rule's matches every address. `unenforced` lists it, for the policy's
status.

Rules keep their action, their name and their position in the policy (`index`, per direction);
the internal policy carries the tier and the priority, which agents turn into table and flow
priority. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from controlplane.compute.groupselector import GroupSelector
from controlplane.compute.inputs import ClusterNetworkPolicy, ClusterPolicyRule, Node
from controlplane.compute.labels import EVERYTHING
from controlplane.compute.translate import ALL_ADDRESSES, Translation
from pyantrea_api.domainnames import normalize
from pyantrea_api.ipnet import IPNet
from pyantrea_api.objects import (
    Direction,
    InternalNetworkPolicy,
    IPBlock,
    Peer,
    PolicyReference,
    Rule,
    RuleAction,
    Service,
)
from pyantrea_api.values import value


@value
class ClusterTranslation:
    """The internal form of a ClusterNetworkPolicy, and what it reads besides pods."""

    translation: Translation
    uses_nodes: bool
    """Whether some peer selects Nodes: the policy changes with the Nodes' labels and addresses."""
    unenforced: tuple[str, ...]
    """The parts of the spec pyantrea does not enforce as written, one sentence each."""


def translate_cluster(policy: ClusterNetworkPolicy, nodes: Iterable[Node]) -> ClusterTranslation:
    """The internal form of `policy`, with the node peers resolved against `nodes`."""
    applied_to = GroupSelector.across_namespaces(
        policy.subject_namespace_selector, policy.subject_pod_selector
    )
    address_groups: dict[str, GroupSelector] = {}
    node_list = tuple(nodes)
    rules: list[Rule] = []
    unenforced: list[str] = []
    uses_nodes = False
    for direction, key, spec_rules in (
        (Direction.IN, "ingress", policy.ingress),
        (Direction.OUT, "egress", policy.egress),
    ):
        for index, rule in enumerate(spec_rules):
            translated, reads_nodes, notes = _rule(direction, index, rule, address_groups, node_list)
            rules.append(translated)
            uses_nodes |= reads_nodes
            unenforced.extend(f"{key}[{index}] ({rule.name or 'unnamed'}): {note}" for note in notes)
    internal = InternalNetworkPolicy(
        name=policy.uid,
        source_ref=PolicyReference("", policy.name, policy.uid),
        generation=policy.generation,
        rules=tuple(rules),
        applied_to_groups=(applied_to.name,),
        tier=policy.tier,
        priority=policy.priority,
    )
    translation = Translation(internal, applied_to, tuple(address_groups.values()))
    return ClusterTranslation(translation, uses_nodes, tuple(unenforced))


def _rule(
    direction: Direction,
    index: int,
    rule: ClusterPolicyRule,
    address_groups: dict[str, GroupSelector],
    nodes: tuple[Node, ...],
) -> tuple[Rule, bool, list[str]]:
    group_names: dict[str, None] = {}
    blocks: dict[IPBlock, None] = {}
    fqdns: dict[str, None] = {}
    notes: list[str] = []
    reads_nodes = False
    for peer in rule.peers:
        if peer.unknown:
            if rule.action is RuleAction.ACCEPT:
                notes.append("a peer of an unknown kind matches nothing (fail closed)")
            else:
                notes.append("a peer of an unknown kind matches every address (fail closed)")
                blocks.update(dict.fromkeys(ALL_ADDRESSES))
        elif peer.domain_names:
            fqdns.update(dict.fromkeys(normalize(name) for name in peer.domain_names))
        elif peer.networks:
            blocks.update(dict.fromkeys(IPBlock(network, ()) for network in peer.networks))
        elif peer.node_selector is not None:
            reads_nodes = True
            for node in nodes:
                if peer.node_selector.matches(dict(node.labels)):
                    blocks.update(dict.fromkeys(IPBlock(IPNet(ip, len(ip) * 8), ()) for ip in node.ips))
        elif peer.namespace_selector is not None:
            selector = GroupSelector.across_namespaces(
                peer.namespace_selector, peer.pod_selector or EVERYTHING
            )
            selector = address_groups.setdefault(selector.normalized, selector)
            group_names[selector.name] = None
    services = tuple(dict.fromkeys(Service(p.protocol, p.port, p.end_port) for p in rule.ports))
    peer_value = Peer(tuple(group_names), tuple(sorted(blocks)), tuple(sorted(fqdns)))
    return Rule(direction, peer_value, services, rule.action, rule.name, index), reads_nodes, notes
