"""The kinds of object the lab serves, and the names `pyantctl lab` accepts for them.

A kind is known by its manifest identity (`apiVersion`, `kind`) and by the names kubectl takes
on the command line (plural, singular, short name, `kind.group`), case-insensitively.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pyantrea_kube.resources import (
    CLUSTER_NETWORK_POLICIES,
    CLUSTER_ROLE_BINDINGS,
    CLUSTER_ROLES,
    CUSTOM_RESOURCE_DEFINITIONS,
    ENDPOINTS,
    NAMESPACES,
    NETWORK_POLICIES,
    NODES,
    PODS,
    ROLE_BINDINGS,
    ROLES,
    SERVICE_ACCOUNTS,
    SERVICES,
    Resource,
)

DEPLOYMENTS = Resource("apps", "v1", "deployments", namespaced=True)
REPLICA_SETS = Resource("apps", "v1", "replicasets", namespaced=True)


class UnknownKind(ValueError):
    """A name or manifest kind the lab does not serve."""


@dataclass(frozen=True, slots=True)
class Kind:
    kind: str
    resource: Resource
    short_names: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        group, version = self.resource.group, self.resource.version
        return f"{group}/{version}" if group else version

    @property
    def namespaced(self) -> bool:
        return self.resource.namespaced

    @property
    def qualified(self) -> str:
        """How kubectl names the kind in messages: `pod`, `deployment.apps`."""
        singular = self.kind.lower()
        return f"{singular}.{self.resource.group}" if self.resource.group else singular

    def names(self) -> tuple[str, ...]:
        plural, singular = self.resource.plural, self.kind.lower()
        names = [plural, singular, *self.short_names]
        if self.resource.group:
            names += [f"{plural}.{self.resource.group}", f"{singular}.{self.resource.group}"]
        return tuple(names)


NAMESPACE = Kind("Namespace", NAMESPACES, ("ns",))
NODE = Kind("Node", NODES, ("no",))
POD = Kind("Pod", PODS, ("po",))
SERVICE = Kind("Service", SERVICES, ("svc",))
ENDPOINTS_KIND = Kind("Endpoints", ENDPOINTS, ("ep",))
NETWORK_POLICY = Kind("NetworkPolicy", NETWORK_POLICIES, ("netpol",))
CLUSTER_NETWORK_POLICY = Kind("ClusterNetworkPolicy", CLUSTER_NETWORK_POLICIES, ("cnp",))
CLUSTER_NETWORK_POLICY_V1ALPHA2 = Kind(
    "ClusterNetworkPolicy", replace(CLUSTER_NETWORK_POLICIES, version="v1alpha2"), ("cnp",)
)
"""The release's older served version, as its user-story examples are written."""
CUSTOM_RESOURCE_DEFINITION = Kind("CustomResourceDefinition", CUSTOM_RESOURCE_DEFINITIONS, ("crd", "crds"))
DEPLOYMENT = Kind("Deployment", DEPLOYMENTS, ("deploy",))
REPLICA_SET = Kind("ReplicaSet", REPLICA_SETS, ("rs",))
SERVICE_ACCOUNT = Kind("ServiceAccount", SERVICE_ACCOUNTS, ("sa",))
CLUSTER_ROLE = Kind("ClusterRole", CLUSTER_ROLES)
CLUSTER_ROLE_BINDING = Kind("ClusterRoleBinding", CLUSTER_ROLE_BINDINGS)
ROLE = Kind("Role", ROLES)
ROLE_BINDING = Kind("RoleBinding", ROLE_BINDINGS)
IDENTITY_KINDS = (SERVICE_ACCOUNT, CLUSTER_ROLE, CLUSTER_ROLE_BINDING, ROLE, ROLE_BINDING)
"""What a program's identity in the cluster is made of: its ServiceAccount and RBAC."""

ALL: tuple[Kind, ...] = (
    NAMESPACE, NODE, POD, SERVICE, ENDPOINTS_KIND, NETWORK_POLICY, CLUSTER_NETWORK_POLICY,
    DEPLOYMENT, REPLICA_SET,
    CLUSTER_NETWORK_POLICY_V1ALPHA2, CUSTOM_RESOURCE_DEFINITION, *IDENTITY_KINDS,
)  # fmt: skip


def by_name(name: str) -> Kind:
    """The kind a command-line name stands for (`pods`, `po`, `netpol`, `deployment.apps`)."""
    wanted = name.lower()
    for kind in ALL:
        if wanted in kind.names():
            return kind
    known = ", ".join(kind.resource.plural for kind in ALL)
    raise UnknownKind(f'the server doesn\'t have a resource type "{name}" (the lab serves {known})')


def by_manifest(api_version: str, kind: str) -> Kind:
    for candidate in ALL:
        if candidate.kind == kind and candidate.api_version == api_version:
            return candidate
    served = ", ".join(f"{k.api_version} {k.kind}" for k in ALL)
    raise UnknownKind(f'no kind "{kind}" in version "{api_version}" (the lab serves {served})')
