"""The incremental policy engine: Kubernetes input events in, minimal output changes out.

Events (`upsert_*`/`delete_*`) only update indexes and mark what is dirty, so a burst of events
or a bulk load costs each output object once; `sync` then computes the changes, like Antrea's
workqueues drained by `syncAppliedToGroup`, `syncInternalNetworkPolicy` and `syncAddressGroup`:

    pods, namespaces ──▶ Grouping: selector groups and their members ──┐
    policies ──▶ translate ──▶ groups they use ───────────────────────┼──▶ Publisher ──▶ changes
    nodes ────────────────────────────────────────────────────────────┘    (patches, spans)

ClusterNetworkPolicies go the same way (`clustertranslate`), keyed ("", name): a cluster-scoped
policy has no namespace. One whose peers select Nodes is translated again when a Node's labels
or addresses change.
"""

from __future__ import annotations

from controlplane.compute.changes import Change, Span
from controlplane.compute.clustertranslate import translate_cluster
from controlplane.compute.grouping import Grouping
from controlplane.compute.inputs import (
    ClusterNetworkPolicy,
    InvalidClusterNetworkPolicy,
    InvalidNetworkPolicy,
    Namespace,
    NetworkPolicy,
    Node,
    Pod,
)
from controlplane.compute.publisher import ActivePolicy, Pending, Publisher
from controlplane.compute.translate import Translation, translate
from pyantrea_api.objects import AddressGroup, GroupMember, PodKey


class PolicyEngine:
    """Turns Namespace, Pod, Node and NetworkPolicy events into group, policy and span changes."""

    def __init__(self) -> None:
        self._grouping = Grouping()
        self._publisher = Publisher()
        self._members: dict[PodKey, GroupMember] = {}
        self._member_baseline: dict[PodKey, GroupMember | None] = {}
        """Each pod touched since the last sync, with its member value at that sync."""
        self._policies: dict[tuple[str, str], ActivePolicy] = {}
        self._by_uid: dict[str, ActivePolicy] = {}
        self._invalid: dict[tuple[str, str], InvalidNetworkPolicy] = {}
        self._dirty_policies: set[str] = set()
        self._nodes: dict[str, Node] = {}
        self._cluster: dict[str, ClusterNetworkPolicy] = {}
        """The valid ClusterNetworkPolicies by name, as given (node peers are resolved anew)."""
        self._cluster_invalid: dict[str, InvalidClusterNetworkPolicy] = {}
        self._reading_nodes: set[str] = set()
        self._unenforced: dict[str, tuple[str, ...]] = {}

    def upsert_namespace(self, namespace: Namespace) -> None:
        """A Namespace was added or its labels changed."""
        self._grouping.set_namespace(namespace.name, namespace.labels)

    def delete_namespace(self, name: str) -> None:
        """A Namespace was deleted."""
        self._grouping.set_namespace(name, None)

    def upsert_node(self, node: Node) -> None:
        """A Node was added or changed."""
        old = self._nodes.get(node.name)
        self._nodes[node.name] = node
        self._publisher.set_node(node.name, True)
        if old is None or (old.labels, old.ips) != (node.labels, node.ips):
            self._nodes_changed()

    def delete_node(self, name: str) -> None:
        """A Node was deleted: it leaves every span."""
        self._publisher.set_node(name, False)
        if self._nodes.pop(name, None) is not None:
            self._nodes_changed()

    def upsert_cluster_policy(self, policy: ClusterNetworkPolicy | InvalidClusterNetworkPolicy) -> None:
        """A ClusterNetworkPolicy was added or changed; an invalid one is reported, not enforced."""
        key = ("", policy.name)
        self._remove_policy(key)
        self._cluster.pop(policy.name, None)
        self._reading_nodes.discard(policy.name)
        self._unenforced.pop(policy.name, None)
        if isinstance(policy, InvalidClusterNetworkPolicy):
            self._cluster_invalid[policy.name] = policy
            return
        self._cluster_invalid.pop(policy.name, None)
        self._cluster[policy.name] = policy
        self._install_cluster(policy)

    def delete_cluster_policy(self, name: str) -> None:
        """A ClusterNetworkPolicy was deleted."""
        self._remove_policy(("", name))
        self._cluster.pop(name, None)
        self._cluster_invalid.pop(name, None)
        self._reading_nodes.discard(name)
        self._unenforced.pop(name, None)

    def invalid_cluster_policies(self) -> tuple[InvalidClusterNetworkPolicy, ...]:
        """ClusterNetworkPolicies that are not enforced because the computation cannot use them."""
        return tuple(self._cluster_invalid.values())

    def unenforced(self, name: str) -> tuple[str, ...]:
        """What ClusterNetworkPolicy `name` says that pyantrea does not enforce as written."""
        return self._unenforced.get(name, ())

    def _install_cluster(self, policy: ClusterNetworkPolicy) -> None:
        result = translate_cluster(policy, self._nodes.values())
        if result.uses_nodes:
            self._reading_nodes.add(policy.name)
        if result.unenforced:
            self._unenforced[policy.name] = result.unenforced
        self._install(("", policy.name), result.translation)

    def _nodes_changed(self) -> None:
        for name in sorted(self._reading_nodes):
            self._remove_policy(("", name))
            self._install_cluster(self._cluster[name])

    def upsert_pod(self, pod: Pod) -> None:
        """A Pod was added or changed (labels, node, IPs, phase, ports)."""
        key = (pod.namespace, pod.name)
        if pod.is_group_member:
            self._set_member(key, GroupMember(pod.namespace, pod.name, pod.ips, pod.ports, pod.node_name))
            self._grouping.set_pod(key, pod.labels)
        else:
            self._set_member(key, None)
            self._grouping.set_pod(key, None)

    def delete_pod(self, namespace: str, name: str) -> None:
        """A Pod was deleted."""
        key = (namespace, name)
        self._set_member(key, None)
        self._grouping.set_pod(key, None)

    def upsert_policy(self, policy: NetworkPolicy | InvalidNetworkPolicy) -> None:
        """A NetworkPolicy was added or changed; an invalid one is reported and not enforced."""
        key = (policy.namespace, policy.name)
        self._remove_policy(key)
        if isinstance(policy, InvalidNetworkPolicy):
            self._invalid[key] = policy
            return
        self._invalid.pop(key, None)
        self._install(key, translate(policy))

    def _install(self, key: tuple[str, str], translation: Translation) -> None:
        acquire = self._grouping.acquire
        entry = ActivePolicy(
            translation.policy,
            acquire(translation.applied_to),
            tuple(acquire(selector) for selector in translation.address_groups),
        )
        uid = translation.policy.name
        self._policies[key] = entry
        self._by_uid[uid] = entry
        self._dirty_policies.add(uid)

    def delete_policy(self, namespace: str, name: str) -> None:
        """A NetworkPolicy was deleted."""
        key = (namespace, name)
        self._remove_policy(key)
        self._invalid.pop(key, None)

    def full_address_group(self, name: str) -> tuple[AddressGroup, Span] | None:
        """AddressGroup `name` and its span recomputed from scratch, as Antrea's `syncAddressGroup`
        does (None if it is not published); between syncs it equals what the store holds."""
        return self._publisher.full_address_group(name, self._members)

    def invalid_policies(self) -> tuple[InvalidNetworkPolicy, ...]:
        """Policies that are not enforced because the computation cannot use them."""
        return tuple(self._invalid.values())

    def sync(self) -> list[Change]:
        """The output changes since the last sync, additions before the deletions they allow."""
        pending = Pending(
            grouping=self._grouping.take_changes(),
            groups_of=self._grouping.groups_of,
            members=self._members,
            baseline=self._member_baseline,
            policies=self._by_uid,
            dirty_policies=self._dirty_policies,
        )
        self._member_baseline = {}
        self._dirty_policies = set()
        return self._publisher.publish(pending)

    def _set_member(self, key: PodKey, member: GroupMember | None) -> None:
        old = self._members.get(key)
        if old == member:
            return
        if key not in self._member_baseline:
            self._member_baseline[key] = old
        if member is None:
            del self._members[key]
        else:
            self._members[key] = member

    def _remove_policy(self, key: tuple[str, str]) -> None:
        entry = self._policies.pop(key, None)
        if entry is None:
            return
        del self._by_uid[entry.policy.name]
        self._dirty_policies.add(entry.policy.name)
        self._grouping.release(entry.applied_to)
        for group in entry.address_groups:
            self._grouping.release(group)
