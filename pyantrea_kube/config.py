"""Client configuration: a `kubernetes.client.ApiClient` from a kubeconfig file or in-cluster.

Inside a pod (the ServiceAccount token and `KUBERNETES_SERVICE_HOST` are present) the in-cluster
configuration is used unless a kubeconfig path is given; outside, the given path, `$KUBECONFIG`
or `~/.kube/config`, in that order
(`$KUBECONFIG` may list several files, as for kubectl).
"""

from __future__ import annotations

import os
from pathlib import Path

from kubernetes import config as kube_config
from kubernetes.client import ApiClient, Configuration

from pyantrea_kube.bearer import bearer_token

# Each informer keeps one connection open for its watch; writes need a few more. The default
# pool (5 per CPU) makes urllib3 drop and re-open connections on a small machine.
_CONNECTION_POOL_SIZE = 32


class KubeConfigError(RuntimeError):
    """No usable Kubernetes client configuration was found."""


def load_api_client(kubeconfig: str | Path | None = None, *, context: str | None = None) -> ApiClient:
    """An ApiClient for the configured cluster; the caller closes it when done."""
    configuration = Configuration()
    if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        kube_config.load_incluster_config(client_configuration=configuration)
    else:
        source = str(kubeconfig or os.environ.get("KUBECONFIG") or Path.home() / ".kube" / "config")
        if not any(Path(part).is_file() for part in source.split(os.pathsep)):
            raise KubeConfigError(f"kubeconfig {source!r} does not exist, and this is not a pod in a cluster")
        try:
            kube_config.load_kube_config(
                config_file=source, context=context, client_configuration=configuration, persist_config=False
            )
        except kube_config.ConfigException as exc:
            raise KubeConfigError(f"kubeconfig {source!r} is not usable: {exc}") from exc
    configuration.connection_pool_maxsize = max(configuration.connection_pool_maxsize, _CONNECTION_POOL_SIZE)
    return ApiClient(configuration)


def bearer_of(configuration: Configuration) -> str | None:
    """The bearer token `configuration` authenticates with (refreshed first, as the in-cluster
    configuration's ServiceAccount token is), or None when it uses none (a client certificate)."""
    if configuration.refresh_api_key_hook is not None:
        configuration.refresh_api_key_hook(configuration)
    header = configuration.api_key.get("authorization") or configuration.api_key.get("BearerToken")
    prefix = configuration.api_key_prefix.get("authorization")
    if header and prefix and not header.lower().startswith("bearer "):
        header = f"{prefix} {header}"
    return bearer_token(header)
