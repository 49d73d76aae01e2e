"""The from-scratch reference: the whole output computed naively from a set of inputs.

No index, no cache, no increments: every group's members by testing every pod, every span by
its definition. Incremental results must equal this exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from controlplane.compute.changes import Span
from controlplane.compute.clustertranslate import translate_cluster
from controlplane.compute.groupselector import GroupSelector
from controlplane.compute.inputs import (
    ClusterNetworkPolicy,
    InvalidClusterNetworkPolicy,
    InvalidNetworkPolicy,
    Namespace,
    NetworkPolicy,
    Node,
    Pod,
)
from controlplane.compute.translate import translate
from controlplane.store.versioned import Store
from pyantrea_api.objects import GroupMember, InternalNetworkPolicy


@dataclass(frozen=True, slots=True)
class Outputs:
    """Everything the controller publishes, comparable with `==`."""

    policies: dict[str, tuple[InternalNetworkPolicy, Span]]
    address_groups: dict[str, tuple[frozenset[GroupMember], Span]]
    applied_to_groups: dict[str, tuple[frozenset[GroupMember], Span]]


def store_outputs(store: Store) -> Outputs:
    return Outputs(store.policies(), store.address_groups(), store.applied_to_groups())


def members(
    selector: GroupSelector, namespaces: dict[str, Namespace], pods: Iterable[Pod]
) -> frozenset[GroupMember]:
    result = set()
    for pod in pods:
        if not pod.is_group_member:
            continue
        if selector.namespace is not None:
            if pod.namespace != selector.namespace:
                continue
        else:
            namespace = namespaces.get(pod.namespace)
            assert selector.namespace_selector is not None
            if namespace is None or not selector.namespace_selector.matches(dict(namespace.labels)):
                continue
        if selector.pod_selector.matches(dict(pod.labels)):
            result.add(GroupMember(pod.namespace, pod.name, pod.ips, pod.ports, pod.node_name))
    return frozenset(result)


def compute(
    namespaces: Iterable[Namespace],
    nodes: Iterable[Node],
    pods: Iterable[Pod],
    policies: Iterable[NetworkPolicy | InvalidNetworkPolicy],
    cluster_policies: Iterable[ClusterNetworkPolicy | InvalidClusterNetworkPolicy] = (),
) -> Outputs:
    by_name = {ns.name: ns for ns in namespaces}
    nodes = list(nodes)
    node_names = {node.name for node in nodes}
    pods = list(pods)
    out_policies: dict[str, tuple[InternalNetworkPolicy, Span]] = {}
    atgs: dict[str, tuple[frozenset[GroupMember], Span]] = {}
    ag_selectors: dict[str, GroupSelector] = {}
    ag_spans: dict[str, set[str]] = {}
    translations = [translate(p) for p in policies if not isinstance(p, InvalidNetworkPolicy)]
    translations += [
        translate_cluster(p, nodes).translation
        for p in cluster_policies
        if not isinstance(p, InvalidClusterNetworkPolicy)
    ]
    for translation in translations:
        policy = translation.policy
        applied = members(translation.applied_to, by_name, pods)
        span = frozenset(m.node for m in applied) & node_names
        atgs[translation.applied_to.name] = (applied, span)
        out_policies[policy.name] = (policy, span)
        for selector in translation.address_groups:
            ag_selectors[selector.name] = selector
            ag_spans.setdefault(selector.name, set()).update(span)
    ags = {
        name: (members(selector, by_name, pods), frozenset(ag_spans[name]))
        for name, selector in ag_selectors.items()
    }
    return Outputs(out_policies, ags, atgs)
