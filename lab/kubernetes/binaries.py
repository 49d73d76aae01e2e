"""Where scripts/build-kubernetes.sh put the Kubernetes and etcd programs of the pinned release,
and scripts/build-coredns.sh the CoreDNS of build/coredns/go.mod."""

from __future__ import annotations

import os
import re
from pathlib import Path

_REPO = Path(__file__).parents[2]
_GO_MOD = _REPO / "build" / "kubernetes" / "go.mod"
_COREDNS_GO_MOD = _REPO / "build" / "coredns" / "go.mod"
DEFAULT_CACHE = Path("/var/cache/pyantrea")
PROGRAMS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "kubectl")


class BinariesMissing(RuntimeError):
    """The control plane is not built; the message says how to build it."""


def kubernetes_version(go_mod: Path = _GO_MOD) -> str:
    """The pinned release, as `require k8s.io/kubernetes vX.Y.Z` in the wrapper module says."""
    found = re.search(r"^\s*(?:require\s+)?k8s\.io/kubernetes\s+(v\d+\.\d+\.\d+)\b", go_mod.read_text(), re.M)
    if found is None:
        raise BinariesMissing(f"{go_mod} pins no k8s.io/kubernetes version")
    return found.group(1)


def bin_dir() -> Path:
    cache = Path(os.environ.get("PYANTREA_CACHE") or DEFAULT_CACHE)
    return cache / "kubernetes" / kubernetes_version() / "bin"


def program(name: str) -> Path:
    """The path of one built program; BinariesMissing when it is not there."""
    path = bin_dir() / name
    if not os.access(path, os.X_OK):
        raise BinariesMissing(f"{path} is missing: build the control plane with ./scripts/setup.sh")
    return path


def coredns_version(go_mod: Path = _COREDNS_GO_MOD) -> str:
    """The pinned CoreDNS release, as the wrapper module requires it."""
    found = re.search(
        r"^\s*(?:require\s+)?github\.com/coredns/coredns\s+(v\d+\.\d+\.\d+)\b", go_mod.read_text(), re.M
    )
    if found is None:
        raise BinariesMissing(f"{go_mod} pins no github.com/coredns/coredns version")
    return found.group(1)


def built_program(name: str) -> Path:
    """A program the setup built: `coredns`, or one of the Kubernetes release's."""
    if name != "coredns":
        return program(name)
    cache = Path(os.environ.get("PYANTREA_CACHE") or DEFAULT_CACHE)
    path = cache / "coredns" / coredns_version() / "bin" / "coredns"
    if not os.access(path, os.X_OK):
        raise BinariesMissing(
            f"{path} is missing: build CoreDNS with ./scripts/setup.sh (scripts/build-coredns.sh)"
        )
    return path
