"""The Kubernetes resources pyantrea reads and writes, and their REST paths.

A `Resource` names a collection the way the API does (group, version, plural, scope), so one
list/watch/patch code path serves every kind without per-kind generated client methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True, slots=True)
class Resource:
    """One API resource, e.g. `Resource("", "v1", "pods", namespaced=True)`."""

    group: str
    version: str
    plural: str
    namespaced: bool

    @property
    def _prefix(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def collection_path(self, namespace: str | None = None) -> str:
        """The collection, across all namespaces when `namespace` is None."""
        if namespace is not None and not self.namespaced:
            raise ValueError(f"{self.plural} are cluster-scoped: namespace {namespace!r} makes no sense")
        if namespace is None:
            return f"{self._prefix}/{self.plural}"
        return f"{self._prefix}/namespaces/{quote(namespace, safe='')}/{self.plural}"

    def object_path(self, namespace: str | None, name: str, subresource: str | None = None) -> str:
        """One object (or its subresource, e.g. `status`)."""
        if self.namespaced and not namespace:
            raise ValueError(f"{self.plural} are namespaced: a namespace is required for {name!r}")
        path = f"{self.collection_path(namespace if self.namespaced else None)}/{quote(name, safe='')}"
        return f"{path}/{subresource}" if subresource else path


NAMESPACES = Resource("", "v1", "namespaces", namespaced=False)
NODES = Resource("", "v1", "nodes", namespaced=False)
PODS = Resource("", "v1", "pods", namespaced=True)
SERVICES = Resource("", "v1", "services", namespaced=True)
ENDPOINTS = Resource("", "v1", "endpoints", namespaced=True)
NETWORK_POLICIES = Resource("networking.k8s.io", "v1", "networkpolicies", namespaced=True)
CLUSTER_NETWORK_POLICIES = Resource(
    "policy.networking.k8s.io", "v1beta1", "clusternetworkpolicies", namespaced=False
)
"""The upstream ClusterNetworkPolicy (manifests/crds/), at its storage version."""
CUSTOM_RESOURCE_DEFINITIONS = Resource(
    "apiextensions.k8s.io", "v1", "customresourcedefinitions", namespaced=False
)
SERVICE_ACCOUNTS = Resource("", "v1", "serviceaccounts", namespaced=True)
CLUSTER_ROLES = Resource("rbac.authorization.k8s.io", "v1", "clusterroles", namespaced=False)
CLUSTER_ROLE_BINDINGS = Resource("rbac.authorization.k8s.io", "v1", "clusterrolebindings", namespaced=False)
ROLES = Resource("rbac.authorization.k8s.io", "v1", "roles", namespaced=True)
ROLE_BINDINGS = Resource("rbac.authorization.k8s.io", "v1", "rolebindings", namespaced=True)
EVENTS = Resource("", "v1", "events", namespaced=True)
