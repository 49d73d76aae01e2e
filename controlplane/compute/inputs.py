"""The Kubernetes objects the policy computation reads, trimmed to the fields it needs.

`controlplane.compute.kubeparse` builds these from the JSON form (`kubectl get -o json`); tests and
benchmarks may build them directly. Everything here is an immutable value.
"""

from __future__ import annotations

import enum

from controlplane.compute.labels import Labels, LabelSelector
from pyantrea_api.ipnet import IPNet, PackedIP
from pyantrea_api.objects import Direction, IPBlock, NamedPort, Protocol, RuleAction, Tier
from pyantrea_api.values import value


class PodPhase(enum.Enum):
    """`status.phase` of a Pod."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    UNKNOWN = "Unknown"


@value
class Namespace:
    """A Namespace: its labels are what namespaceSelectors match."""

    name: str
    labels: Labels


@value
class Node:
    """A Node: only nodes that exist can be in a span. Its labels and addresses are what a
    ClusterNetworkPolicy's `nodes` peer selects and matches."""

    name: str
    labels: Labels = ()
    ips: tuple[PackedIP, ...] = ()
    """The addresses of `status.addresses` (InternalIP and ExternalIP)."""


@value
class Pod:
    """A Pod, with only its named container ports."""

    namespace: str
    name: str
    labels: Labels
    node_name: str
    """Empty while the pod is not scheduled."""
    host_network: bool
    phase: PodPhase
    ips: tuple[PackedIP, ...]
    ports: tuple[NamedPort, ...]

    @property
    def is_group_member(self) -> bool:
        """Whether selectors see this pod: scheduled, with an IP, not hostNetwork, not finished."""
        return (
            bool(self.node_name)
            and bool(self.ips)
            and not self.host_network
            and self.phase is not PodPhase.SUCCEEDED
            and self.phase is not PodPhase.FAILED
        )


@value
class PolicyPeer:
    """One entry of `from` or `to`: either an ipBlock or selectors (never both).

    A peer with only `namespace_selector` has `pod_selector` EVERYTHING: it selects every pod of
    the matching namespaces. With `namespace_selector` None the pods are the policy's namespace's.
    """

    pod_selector: LabelSelector | None
    namespace_selector: LabelSelector | None
    ip_block: IPBlock | None


@value
class PolicyPort:
    """One entry of `ports`: `port` None means every port of the protocol."""

    protocol: Protocol
    port: int | str | None
    end_port: int | None


@value
class PolicyRule:
    """One ingress or egress rule: empty `peers` means every peer, empty `ports` every port."""

    peers: tuple[PolicyPeer, ...]
    ports: tuple[PolicyPort, ...]


@value
class NetworkPolicy:
    """A `networking.k8s.io/v1` NetworkPolicy with its policyTypes defaults applied."""

    namespace: str
    name: str
    uid: str
    generation: int
    pod_selector: LabelSelector
    policy_types: frozenset[Direction]
    """Directions this policy isolates; a direction listed here with no rules denies all."""
    ingress: tuple[PolicyRule, ...]
    egress: tuple[PolicyRule, ...]


@value
class InvalidNetworkPolicy:
    """A NetworkPolicy the computation cannot use; it is reported instead of enforced."""

    namespace: str
    name: str
    uid: str
    generation: int
    error: str


@value
class ClusterPolicyPeer:
    """One entry of a ClusterNetworkPolicy rule's `from` or `to`; exactly one kind is set.

    `namespaces`: every pod of the namespaces `namespace_selector` matches (`pod_selector` None);
    `pods`: both selectors; `nodes`: `node_selector`; `networks`: CIDRs; `domain_names`: names
    (an experimental peer pyantrea does not resolve: it matches nothing). A peer with none of
    them is one of a newer API version: it fails closed (`unknown`).
    """

    namespace_selector: LabelSelector | None
    pod_selector: LabelSelector | None
    node_selector: LabelSelector | None
    networks: tuple[IPNet, ...]
    domain_names: tuple[str, ...]
    unknown: bool = False


@value
class ClusterPolicyRule:
    """One ingress or egress rule: action, peers, and ports (empty: all traffic)."""

    name: str
    action: RuleAction
    peers: tuple[ClusterPolicyPeer, ...]
    ports: tuple[PolicyPort, ...]


@value
class ClusterNetworkPolicy:
    """A `policy.networking.k8s.io` ClusterNetworkPolicy (cluster-scoped).

    Its subject is the pods `subject_pod_selector` matches in the namespaces
    `subject_namespace_selector` matches (a `namespaces` subject has every pod).
    """

    name: str
    uid: str
    generation: int
    tier: Tier
    priority: int
    subject_namespace_selector: LabelSelector
    subject_pod_selector: LabelSelector
    ingress: tuple[ClusterPolicyRule, ...]
    egress: tuple[ClusterPolicyRule, ...]

    @property
    def namespace(self) -> str:
        """Empty: cluster-scoped (engine and status board key policies by namespace and name)."""
        return ""


@value
class InvalidClusterNetworkPolicy:
    """A ClusterNetworkPolicy the computation cannot use; it is reported instead of enforced."""

    name: str
    uid: str
    generation: int
    error: str

    @property
    def namespace(self) -> str:
        return ""
