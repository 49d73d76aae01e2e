"""Who may use the agent's local API, and the TLS that protects it.

The agent makes a certificate at each start (`pyantrea_daemon.certificates`: a CA of its own that
signs only this certificate, whose key is never kept) and sends the CA's PEM to the controller in
its heartbeats; the controller's `/api/v1/agents` shows it as `apiCA`, and the controller and
pyantctl trust that CA alone when they call this agent. Every request but `/livez`, `/readyz` and
`/metrics` carries a bearer token, which the API server reviews (TokenReview), and its user must
be allowed the request's verb on its path under `/pyantrea-agent`, a non-resource URL
(SubjectAccessReview; `GET /api/v1/flows` is `get /pyantrea-agent/api/v1/flows`): the ClusterRole
`pyantrea-agent-api` of manifests/pyantrea.yml allows the controller's and pyantctl's
ServiceAccounts (`pyantrea_kube.delegation`).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from ipaddress import ip_address

from kubernetes.client import ApiClient

from pyantrea_daemon.certificates import self_signed, server_context
from pyantrea_daemon.http import Guard
from pyantrea_kube.delegation import KubernetesGuard
from pyantrea_kube.rest import RestClient

REALM = "pyantrea-agent"
AUTHORIZATION_PREFIX = "/pyantrea-agent"
"""GET /api/v1/flows is authorized as the non-resource URL /pyantrea-agent/api/v1/flows."""


@dataclass(frozen=True, slots=True)
class ApiAccess:
    ssl_context: ssl.SSLContext
    guard: Guard
    ca: str
    """PEM of the CA of this start's certificate, for the heartbeats."""

    @classmethod
    def create(cls, node: str, api_client: ApiClient) -> ApiAccess:
        pair = self_signed(
            f"pyantrea-agent.{node}",
            (node, "localhost"),
            (ip_address("127.0.0.1"), ip_address("::1")),
        )
        guard = KubernetesGuard(RestClient(api_client), realm=REALM, prefix=AUTHORIZATION_PREFIX)
        return cls(server_context(pair), guard, pair.ca.decode())
