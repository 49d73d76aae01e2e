"""The fields of each Kubernetes object that `kubeparse` reads, as list decoding schemas.

The informers hand these to `kube.listdecode`, which then decodes listed objects with only these
fields: a listed pod keeps its identity, labels, node, hostNetwork, container ports, phase and
IPs, and none of its managedFields, volumes, tolerations or container statuses. Leaves are
`Any`, so `kubeparse` still sees each value as JSON has it and validates it as before; a test
holds every converter to the same result on the whole object and on its decoded fields.
"""

from __future__ import annotations

from typing import Any

import msgspec


class _Fields(msgspec.Struct, omit_defaults=True):
    """Absent fields stay absent in the decoded object (not null)."""


class _NameMeta(_Fields):
    name: Any = None
    namespace: Any = None


class _LabeledMeta(_Fields):
    name: Any = None
    namespace: Any = None
    labels: Any = None


class _PolicyMeta(_Fields):
    name: Any = None
    namespace: Any = None
    uid: Any = None
    generation: Any = None


class _Container(_Fields):
    ports: Any = None


class _PodSpec(_Fields):
    nodeName: Any = None
    hostNetwork: Any = None
    containers: list[_Container] | None = None


class _PodStatus(_Fields):
    phase: Any = None
    podIP: Any = None
    podIPs: Any = None


class NamespaceFields(_Fields):
    metadata: _LabeledMeta | None = None


class _NodeStatus(_Fields):
    addresses: Any = None


class NodeFields(_Fields):
    metadata: _LabeledMeta | None = None
    status: _NodeStatus | None = None


class PodFields(_Fields):
    metadata: _LabeledMeta | None = None
    spec: _PodSpec | None = None
    status: _PodStatus | None = None


class NetworkPolicyFields(_Fields):
    metadata: _PolicyMeta | None = None
    spec: Any = None


class ClusterNetworkPolicyFields(_Fields):
    metadata: _PolicyMeta | None = None
    spec: Any = None
