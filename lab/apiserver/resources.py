"""The resource types the API stand-in serves, described the way kube-apiserver's discovery does.

Each type knows its group/version, names, scope, whether it has a `/status` subresource, and
which field labels its `fieldSelector` accepts (with the value a missing field stands for, since
the real server matches defaulted fields such as `spec.hostNetwork=false`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ResourceType:
    """One served resource, e.g. core/v1 pods."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    has_status: bool
    short_names: tuple[str, ...] = ()
    field_labels: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)

    @property
    def api_version(self) -> str:
        """The `apiVersion` written into objects: `v1` or `group/version`."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def describe(self, name: str) -> str:
        """How errors name an object: `pods "web-1"`, `networkpolicies.networking.k8s.io "x"`."""
        qualified = f"{self.plural}.{self.group}" if self.group else self.plural
        return f'{qualified} "{name}"'


NAMESPACES = ResourceType(
    group="",
    version="v1",
    plural="namespaces",
    singular="namespace",
    kind="Namespace",
    namespaced=False,
    has_status=True,
    short_names=("ns",),
    field_labels={"status.phase": ""},
)
PODS = ResourceType(
    group="",
    version="v1",
    plural="pods",
    singular="pod",
    kind="Pod",
    namespaced=True,
    has_status=True,
    short_names=("po",),
    field_labels={
        "spec.nodeName": "",
        "spec.restartPolicy": "",
        "spec.schedulerName": "",
        "spec.serviceAccountName": "",
        "spec.hostNetwork": "false",
        "status.phase": "",
        "status.podIP": "",
        "status.nominatedNodeName": "",
    },
)
NODES = ResourceType(
    group="",
    version="v1",
    plural="nodes",
    singular="node",
    kind="Node",
    namespaced=False,
    has_status=True,
    short_names=("no",),
    field_labels={"spec.unschedulable": "false"},
)
SERVICES = ResourceType(
    group="",
    version="v1",
    plural="services",
    singular="service",
    kind="Service",
    namespaced=True,
    has_status=True,
    short_names=("svc",),
)
ENDPOINTS = ResourceType(
    group="",
    version="v1",
    plural="endpoints",
    singular="endpoints",
    kind="Endpoints",
    namespaced=True,
    has_status=False,
    short_names=("ep",),
)
NETWORK_POLICIES = ResourceType(
    group="networking.k8s.io",
    version="v1",
    plural="networkpolicies",
    singular="networkpolicy",
    kind="NetworkPolicy",
    namespaced=True,
    has_status=True,
    short_names=("netpol",),
)

DEPLOYMENTS = ResourceType(
    group="apps",
    version="v1",
    plural="deployments",
    singular="deployment",
    kind="Deployment",
    namespaced=True,
    has_status=True,
    short_names=("deploy",),
)

ALL: tuple[ResourceType, ...] = (NAMESPACES, PODS, NODES, SERVICES, ENDPOINTS, NETWORK_POLICIES, DEPLOYMENTS)


@dataclass(frozen=True, slots=True)
class GroupVersion:
    """One served API group version and its resources, for path parsing and discovery."""

    group: str
    version: str
    resources: Mapping[str, ResourceType]

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


def _group_versions() -> dict[tuple[str, str], GroupVersion]:
    grouped: dict[tuple[str, str], dict[str, ResourceType]] = {}
    for rtype in ALL:
        grouped.setdefault((rtype.group, rtype.version), {})[rtype.plural] = rtype
    return {key: GroupVersion(key[0], key[1], plurals) for key, plurals in grouped.items()}


GROUP_VERSIONS: Mapping[tuple[str, str], GroupVersion] = _group_versions()


def by_kind(api_version: str, kind: str) -> ResourceType | None:
    """The served type with this `apiVersion` and `kind`, if any."""
    for rtype in ALL:
        if rtype.api_version == api_version and rtype.kind == kind:
            return rtype
    return None
