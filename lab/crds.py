"""The CustomResourceDefinitions the lab's API server serves: the upstream ClusterNetworkPolicy CRD
shipped in manifests/crds/ (a copy of the pinned network-policy-api release's file), applied as
`kubectl apply -f` would, then waited for until the API server says it is Established.
"""

from __future__ import annotations

import time
from pathlib import Path

from lab import applying
from lab.manifests import read_manifests
from pyantrea_kube.resources import CUSTOM_RESOURCE_DEFINITIONS
from pyantrea_kube.rest import RestClient

CRD_DIR = Path(__file__).parents[1] / "manifests" / "crds"
"""Read as files, as the identities are from manifests/pyantrea.yml (the lab sits below manifests/)."""
ESTABLISHED_TIMEOUT = 30.0


class CrdNotEstablished(RuntimeError):
    """The API server did not start serving a CRD in time."""


def install_crds(rest: RestClient, *, timeout: float = ESTABLISHED_TIMEOUT) -> list[str]:
    """Apply every CRD pyantrea ships and wait until each is served; returns their names."""
    names = []
    for manifest in (m for path in sorted(CRD_DIR.glob("*.yaml")) for m in read_manifests(str(path))):
        applying.apply(rest, manifest)
        names.append(manifest.name)
    deadline = time.monotonic() + timeout
    for name in names:
        while not _established(rest, name):
            if time.monotonic() > deadline:
                raise CrdNotEstablished(
                    f"CustomResourceDefinition {name} not Established after {timeout:.0f} s"
                )
            time.sleep(0.1)
    return names


def _established(rest: RestClient, name: str) -> bool:
    crd = rest.get(CUSTOM_RESOURCE_DEFINITIONS, None, name)
    conditions = crd.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)
