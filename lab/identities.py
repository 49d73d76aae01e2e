"""The lab's programs as the cluster knows them: the ServiceAccounts and RBAC of
manifests/pyantrea.yml, applied as they are, and ServiceAccount tokens from the TokenRequest API,
mounted where a pod finds them, as the kubelet projects them (an agent's bound to its Node, so
the controller's TokenReview learns which node it speaks for). With KUBERNETES_SERVICE_HOST and
_PORT set, the programs take the same in-cluster path as in a pod.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from lab import applying
from lab.kinds import IDENTITY_KINDS
from lab.manifests import parse_manifests
from pyantrea_kube.resources import SERVICE_ACCOUNTS
from pyantrea_kube.rest import RestClient

MANIFEST = Path(__file__).parents[1] / "manifests" / "pyantrea.yml"
NAMESPACE = "kube-system"
AGENT_ACCOUNT = "pyantrea-agent"
CONTROLLER_ACCOUNT = "pyantrea-controller"
TOKEN_SECONDS = 7 * 24 * 3600
"""A lab lives for days at most; the programs are not restarted to renew their tokens."""


def install_identities(rest: RestClient, manifest: Path = MANIFEST) -> list[str]:
    """Apply the ServiceAccounts, roles and bindings of `manifest`; returns what was applied."""
    kinds = {kind.kind for kind in IDENTITY_KINDS}
    documents = [d for d in yaml.safe_load_all(manifest.read_text()) if d and d.get("kind") in kinds]
    applied = []
    for item in parse_manifests(yaml.safe_dump_all(documents), str(manifest)):
        applying.apply(rest, item)
        applied.append(item.title)
    return applied


def request_token(
    rest: RestClient, account: str, *, node: tuple[str, str] | None = None, namespace: str = NAMESPACE
) -> str:
    """A token of ServiceAccount `namespace/account`; bound to `node` (name, uid) if given."""
    spec: dict[str, object] = {"expirationSeconds": TOKEN_SECONDS}
    if node is not None:
        spec["boundObjectRef"] = {"apiVersion": "v1", "kind": "Node", "name": node[0], "uid": node[1]}
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}
    answer = rest.create_subresource(SERVICE_ACCOUNTS, namespace, account, "token", body)
    return str(answer["status"]["token"])


SERVICE_ACCOUNT_MOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
"""Where a pod finds its ServiceAccount's token, the cluster's CA and its namespace."""


def write_service_account_dir(directory: Path, *, token: str, ca: Path, namespace: str = NAMESPACE) -> Path:
    """What the kubelet projects into a pod at SERVICE_ACCOUNT_MOUNT: token, ca.crt, namespace."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write_private(directory / "token", token)
    _write_private(directory / "ca.crt", ca.read_text())
    _write_private(directory / "namespace", namespace)
    return directory


def in_pod(service_account_dir: Path, argv: list[str]) -> list[str]:
    """`argv` as a pod would run it: with `service_account_dir` mounted at SERVICE_ACCOUNT_MOUNT.
    For a program started with `ip netns exec`, which gives it a mount namespace of its own (a
    slave of the host's), so the bind mount is seen by that program alone."""
    SERVICE_ACCOUNT_MOUNT.mkdir(parents=True, exist_ok=True)
    script = f'mount --bind "$0" {SERVICE_ACCOUNT_MOUNT} && exec "$@"'
    return ["sh", "-c", script, str(service_account_dir), *argv]


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
