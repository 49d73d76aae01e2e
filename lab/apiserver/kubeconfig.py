"""A kubeconfig file pointing `kubernetes` clients (and kubectl) at the lab's API server."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

CONTEXT = "pyantrea-lab"


def write_kubeconfig(path: Path, server_url: str, token: str | None = None) -> Path:
    """Write (mode 0600, atomically) a kubeconfig with one cluster, user and context; returns `path`."""
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
    # Written aside and renamed into place: a reader never sees a half-written file.
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        yaml.safe_dump(config, file, sort_keys=False)
    os.replace(temporary, path)
    return path
