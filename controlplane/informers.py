"""The Kubernetes objects the computation reads: Namespace, Node, Pod, NetworkPolicy and
ClusterNetworkPolicy informers.

Each informer lists in pages, decoding only the fields the converters read
(`compute.kubefields`), and trims objects with the computation's own converters (`compute.kubeparse`), so
its cache holds only the typed inputs; a Pod or Node the converter refuses is logged and left
out, and a NetworkPolicy the computation cannot use becomes an `InvalidNetworkPolicy`, which
the engine skips and the status board reports. Every event goes to the engine and marks the
computation dirty; policy events also reach the status board. The ClusterNetworkPolicy CRD
(manifests/crds/) may be missing: its informer then holds nothing and starts watching once the
API server serves it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, TypeVar

from kubernetes.client import ApiClient

from controlplane.computation import Computation
from controlplane.compute.engine import PolicyEngine
from controlplane.compute.inputs import (
    ClusterNetworkPolicy,
    InvalidClusterNetworkPolicy,
    InvalidNetworkPolicy,
    Namespace,
    NetworkPolicy,
    Node,
    Pod,
)
from controlplane.compute.kubefields import (
    ClusterNetworkPolicyFields,
    NamespaceFields,
    NetworkPolicyFields,
    NodeFields,
    PodFields,
)
from controlplane.compute.kubeparse import (
    cluster_network_policy_or_invalid,
    namespace_from_k8s,
    network_policy_or_invalid,
    node_from_k8s,
    pod_from_k8s,
)
from controlplane.status.board import StatusBoard
from pyantrea_kube.informer import Informer, InformerSettings
from pyantrea_kube.resources import CLUSTER_NETWORK_POLICIES, NAMESPACES, NETWORK_POLICIES, NODES, PODS

log = logging.getLogger(__name__)

T = TypeVar("T")

AnyPolicy = NetworkPolicy | InvalidNetworkPolicy
AnyClusterPolicy = ClusterNetworkPolicy | InvalidClusterNetworkPolicy


class _Feed(Generic[T]):
    """An informer handler: upserts and deletes into the engine, then marks the computation dirty."""

    def __init__(
        self, upsert: Callable[[T], None], delete: Callable[[T], None], mark_dirty: Callable[[], None]
    ) -> None:
        self._upsert = upsert
        self._delete = delete
        self._mark_dirty = mark_dirty

    def on_add(self, key: str, obj: T) -> None:
        self._upsert(obj)
        self._mark_dirty()

    def on_update(self, key: str, old: T, new: T) -> None:
        self._upsert(new)
        self._mark_dirty()

    def on_delete(self, key: str, obj: T) -> None:
        self._delete(obj)
        self._mark_dirty()

    def on_synced(self) -> None:
        """Nothing to do: the computation waits for every informer."""


class ClusterInformers:
    """The four informers the computation needs; run each of `informers` as a task."""

    def __init__(self, api_client: ApiClient, computation: Computation, board: StatusBoard) -> None:
        engine: PolicyEngine = computation.engine
        settings = InformerSettings()  # lists in pages of LIST_PAGE_SIZE
        dirty = computation.mark_dirty

        def upsert_policy(policy: AnyPolicy) -> None:
            if isinstance(policy, InvalidNetworkPolicy):
                log.warning(
                    "NetworkPolicy %s/%s is not enforced: %s", policy.namespace, policy.name, policy.error
                )
            engine.upsert_policy(policy)
            board.set_policy(policy)

        def delete_policy(policy: AnyPolicy) -> None:
            engine.delete_policy(policy.namespace, policy.name)
            board.remove_policy(policy.namespace, policy.name)

        def upsert_cluster_policy(policy: AnyClusterPolicy) -> None:
            if isinstance(policy, InvalidClusterNetworkPolicy):
                log.warning("ClusterNetworkPolicy %s is not enforced: %s", policy.name, policy.error)
            engine.upsert_cluster_policy(policy)
            board.set_policy(policy, unenforced=engine.unenforced(policy.name))

        def delete_cluster_policy(policy: AnyClusterPolicy) -> None:
            engine.delete_cluster_policy(policy.name)
            board.remove_policy("", policy.name)

        self.namespaces: Informer[Namespace] = Informer(
            api_client,
            NAMESPACES,
            namespace_from_k8s,
            settings=settings,
            item_fields=NamespaceFields,
            handler=_Feed(engine.upsert_namespace, lambda ns: engine.delete_namespace(ns.name), dirty),
        )
        self.nodes: Informer[Node] = Informer(
            api_client,
            NODES,
            node_from_k8s,
            settings=settings,
            item_fields=NodeFields,
            handler=_Feed(engine.upsert_node, lambda node: engine.delete_node(node.name), dirty),
        )
        self.pods: Informer[Pod] = Informer(
            api_client,
            PODS,
            pod_from_k8s,
            settings=settings,
            item_fields=PodFields,
            handler=_Feed(engine.upsert_pod, lambda pod: engine.delete_pod(pod.namespace, pod.name), dirty),
        )
        self.policies: Informer[AnyPolicy] = Informer(
            api_client,
            NETWORK_POLICIES,
            network_policy_or_invalid,
            settings=settings,
            item_fields=NetworkPolicyFields,
            handler=_Feed(upsert_policy, delete_policy, dirty),
        )
        self.cluster_policies: Informer[AnyClusterPolicy] = Informer(
            api_client,
            CLUSTER_NETWORK_POLICIES,
            cluster_network_policy_or_invalid,
            settings=settings,
            item_fields=ClusterNetworkPolicyFields,
            handler=_Feed(upsert_cluster_policy, delete_cluster_policy, dirty),
            optional=True,
        )

    @property
    def informers(
        self,
    ) -> tuple[
        Informer[Namespace], Informer[Node], Informer[Pod], Informer[AnyPolicy], Informer[AnyClusterPolicy]
    ]:
        return (self.namespaces, self.nodes, self.pods, self.policies, self.cluster_policies)

    @property
    def synced(self) -> bool:
        return all(informer.synced for informer in self.informers)

    async def wait_synced(self) -> None:
        for informer in self.informers:
            await informer.wait_synced()
