"""The lab's programs as the cluster knows them: the ServiceAccounts and RBAC of
manifests/pyantrea.yml, applied as they are, and ServiceAccount tokens from the TokenRequest API,
as the kubelet projects them into pods (an agent's bound to its Node, so the controller's
TokenReview learns which node it speaks for).
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from kube.resources import SERVICE_ACCOUNTS
from kube.rest import RestClient
from lab import applying
from lab.kinds import IDENTITY_KINDS
from lab.manifests import parse_manifests

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


def write_token(path: Path, token: str) -> Path:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(token)
    return path
