"""The bearer token pyantctl shows the agents' APIs, first match wins:

1. `$PYANTREA_TOKEN`;
2. inside a pod, the pod's ServiceAccount token (the controller's pod: the controller's account
   may read the agents' APIs);
3. a short-lived token of the ServiceAccount `kube-system/pyantctl`, requested (TokenRequest)
   with the user's kubeconfig (`--kubeconfig`, `$KUBECONFIG`, `~/.kube/config`, or the lab's admin
   kubeconfig when pyantctl talks to the lab). Whoever may mint that account's tokens may read
   the agents, as the ClusterRole `pyantrea-agent-api` of manifests/pyantrea.yml grants it.
"""

from __future__ import annotations

import os
from pathlib import Path

import urllib3
from kubernetes.client import ApiException

from pyantctl.errors import CliError
from pyantrea_kube.config import KubeConfigError, load_api_client
from pyantrea_kube.resources import SERVICE_ACCOUNTS
from pyantrea_kube.rest import RestClient

TOKEN_ENV = "PYANTREA_TOKEN"
POD_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
ACCOUNT_NAMESPACE, ACCOUNT = "kube-system", "pyantctl"
TOKEN_SECONDS = 600
"""The shortest lifetime the API server grants; pyantctl asks anew at each command."""


def agent_token(kubeconfig: Path | None) -> str:
    """The token for the agents' APIs; raises CliError saying why none could be had."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        return token
    if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST") and POD_TOKEN.is_file():
        return POD_TOKEN.read_text().strip()
    return _requested(kubeconfig)


def _requested(kubeconfig: Path | None) -> str:
    try:
        api_client = load_api_client(kubeconfig)
    except KubeConfigError as error:
        raise CliError(f"no credentials for the agents' APIs: {error}; or set ${TOKEN_ENV}") from None
    body = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": TOKEN_SECONDS},
    }
    try:
        with api_client:
            answer = RestClient(api_client).create_subresource(
                SERVICE_ACCOUNTS, ACCOUNT_NAMESPACE, ACCOUNT, "token", body
            )
    except ApiException as error:
        raise CliError(
            f"cannot get a token of ServiceAccount {ACCOUNT_NAMESPACE}/{ACCOUNT} for the agents' APIs: "
            f"the API server answered {error.status} {error.reason}"
        ) from None
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise CliError(f"cannot reach the API server for a token: {error}") from None
    return str(answer["status"]["token"])
