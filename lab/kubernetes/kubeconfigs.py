"""Kubeconfig files for the lab's clients: a certificate, or a token file, and the lab's CA."""

from __future__ import annotations

import os
from pathlib import Path

import yaml


def write_kubeconfig(
    path: Path,
    *,
    server: str,
    ca: Path,
    user: str,
    cert: Path | None = None,
    key: Path | None = None,
    token_file: Path | None = None,
) -> Path:
    """Write a kubeconfig for `server` whose one context is `user` (mode 0600); returns `path`."""
    if (cert is None) != (key is None) or (cert is None) == (token_file is None):
        raise ValueError(f"kubeconfig for {user}: give a certificate and its key, or a token file")
    credentials: dict[str, str] = (
        {"tokenFile": str(token_file)}
        if token_file is not None
        else {"client-certificate": str(cert), "client-key": str(key)}
    )
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "lab", "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [{"name": user, "user": credentials}],
        "contexts": [{"name": user, "context": {"cluster": "lab", "user": user}}],
        "current-context": user,
    }
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        yaml.safe_dump(document, file, sort_keys=False)
    return path
