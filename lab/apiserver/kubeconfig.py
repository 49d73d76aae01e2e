"""A kubeconfig file pointing `kubernetes` clients (and kubectl) at the lab's API server."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

CONTEXT = "pyantrea-lab"


def write_kubeconfig(path: Path, server_url: str, token: str | None = None) -> Path:
    """Write (mode 0600) a kubeconfig with one cluster, user and current context; returns `path`."""
    user: dict[str, str] = {"token": token} if token else {}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": server_url}}],
        "users": [{"name": CONTEXT, "user": user}],
        "contexts": [
            {"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": "default"}}
        ],
        "current-context": CONTEXT,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        yaml.safe_dump(config, file, sort_keys=False)
    return path
