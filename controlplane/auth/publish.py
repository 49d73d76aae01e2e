"""Publishing the controller's CA where agents read it: a file, and a ConfigMap in a cluster.

The agent DaemonSet mounts the ConfigMap (`caConfigMap` in kube-system, key `ca.crt`) as its
`controllerCAFile`; agents outside a cluster (the lab) read the file the controller writes
(`caPublishFile`). Agents read the CA again at every connection, so a new CA reaches them
without a restart.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from kubernetes.client import ApiException

from pyantrea_kube.resources import Resource
from pyantrea_kube.rest import PatchType, RestClient

CONFIG_MAPS = Resource("", "v1", "configmaps", namespaced=True)
CA_NAMESPACE = "kube-system"
CA_KEY = "ca.crt"


def publish_file(path: Path, ca: bytes) -> None:
    """Write the CA to `path` (readable by all: it is public), replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_bytes(ca)
    os.chmod(staging, 0o644)
    os.replace(staging, path)


async def publish_config_map(rest: RestClient, name: str, ca: bytes) -> None:
    """Create or update ConfigMap `name` in kube-system with the CA under `ca.crt`."""
    data = {CA_KEY: ca.decode()}

    def write() -> None:
        try:
            rest.patch(CONFIG_MAPS, CA_NAMESPACE, name, {"data": data}, patch_type=PatchType.MERGE)
        except ApiException as error:
            if error.status != 404:
                raise
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}
            rest.create(CONFIG_MAPS, CA_NAMESPACE, body)

    await asyncio.to_thread(write)
