"""The schema of ``pyantrea-controller.conf``, the controller's configuration file.

Load it with ``pyantrea_config.loader`` or ``pyantrea_config.flags.config_from_args(ControllerConfig, args)``;
render its documented defaults with ``python -m config.render controller``.
"""

# setting() and section() are dataclasses.field() with metadata, which RUF009 cannot know.
# ruff: noqa: RUF009

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from pyantrea_config.errors import ConfigError
from pyantrea_config.kinds import IPAddress, ObjectName
from pyantrea_config.schema import setting

_PORTS = (0, 65535)


@dataclass(frozen=True, slots=True, kw_only=True)
class ControllerConfig:
    """Everything ``pyantrea-controller`` reads from its configuration file."""

    kubeconfig: Path | None = setting(
        "kubeconfig",
        None,
        doc="kubeconfig file for the Kubernetes API. Unset: the in-cluster ServiceAccount configuration.",
    )
    api_port: int = setting(
        "apiPort",
        10349,
        doc="Port of the gRPC controlplane API (TLS, bearer token) that agents watch. 0 picks a free port.",
        bounds=_PORTS,
    )
    api_bind_address: IPAddress = setting(
        "apiBindAddress",
        ipaddress.ip_address("0.0.0.0"),
        doc="Address the gRPC API and the HTTP server listen on.",
    )
    http_port: int = setting(
        "httpPort",
        10351,
        doc="HTTP port: /livez, /readyz, /metrics, the dashboard and its JSON API. 0 picks a free port.",
        bounds=_PORTS,
    )
    self_signed_cert: bool = setting(
        "selfSignedCert",
        True,
        doc="Create a self-signed CA and serving certificate in tlsCertDir when none is there. false: "
        "tls.crt, tls.key and ca.crt must be provided in tlsCertDir.",
    )
    tls_cert_dir: Path = setting(
        "tlsCertDir",
        Path("/var/run/pyantrea/controller-tls"),
        doc="Directory of the gRPC API's certificate: tls.crt, tls.key and the ca.crt that signs them.",
    )
    ca_config_map: ObjectName = setting(
        "caConfigMap",
        ObjectName("pyantrea-ca"),
        doc="ConfigMap in kube-system where the controller publishes ca.crt; the agent DaemonSet mounts it "
        "for the agents' controllerCAFile.",
    )
    ca_publish_file: Path | None = setting(
        "caPublishFile",
        None,
        doc="File where the controller also writes ca.crt, for agents outside a cluster. Unset: not written.",
    )
    auth_token_file: Path | None = setting(
        "authTokenFile",
        None,
        doc="File holding a shared bearer token that agents must present, for use without a cluster to "
        "review tokens. Unset: tokens are checked with the Kubernetes TokenReview API.",
    )
    enable_prometheus_metrics: bool = setting(
        "enablePrometheusMetrics",
        True,
        doc="Serve Prometheus metrics on /metrics.",
    )
    watcher_queue_size: int = setting(
        "watcherQueueSize",
        1000,
        doc="Events buffered for one agent's watch; an agent that falls this far behind is disconnected "
        "and resyncs, so it never slows the others.",
        bounds=(1, 1_000_000),
    )

    def __post_init__(self) -> None:
        if self.api_port != 0 and self.api_port == self.http_port:
            raise ConfigError("httpPort", f"must differ from apiPort ({self.api_port})")
