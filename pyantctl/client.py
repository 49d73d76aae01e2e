"""How `pyantctl get` and `pyantctl trace` reach the controller and the agents.

The controller's HTTP API (the dashboard's JSON API, `controlplane.httpapi`) is found, first
match wins:

1. `--server URL` (for example `http://10.0.0.5:10351`);
2. `$PYANTREA_SERVER`;
3. the default the command line gives: the running lab's controller, which only `pyantctl lab`
   knows how to find (`pyantctl.labcmd.server`); this module knows nothing of labs.

An agent's local API is reached at the address the agent reports in its heartbeats
(`apiAddress` in `GET /api/v1/agents` of the controller): the node's address and the agent's
`apiPort`, over HTTPS trusting only the CA the agent reports beside it (`apiCA`), with the bearer
token of `pyantctl.credentials`.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyantctl.errors import CliError
from pyantrea_daemon.certificates import pinned_client_context

SERVER_ENV = "PYANTREA_SERVER"
_TIMEOUT = 30.0
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""Cluster addresses are never reached through a proxy of the environment."""


@dataclass(frozen=True, slots=True)
class Target:
    """A controller's HTTP API, and the kubeconfig that gets tokens in its cluster (None: the
    user's, `pyantctl.credentials`)."""

    url: str
    kubeconfig: Path | None = None


ServerFinder = Callable[[], Target]
"""Where the controller's HTTP API is when neither `--server` nor $PYANTREA_SERVER says."""


def controller_target(server: str | None, default: ServerFinder) -> Target:
    """`server`, else $PYANTREA_SERVER, else what `default` finds."""
    url = server or os.environ.get(SERVER_ENV)
    if url:
        return Target(url.rstrip("/"))
    return default()


def _request(
    url: str,
    what: str,
    body: Any = None,
    *,
    opener: urllib.request.OpenerDirector = _OPENER,
    headers: dict[str, str] | None = None,
) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with opener.open(request, timeout=_TIMEOUT) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        try:
            message = json.load(error).get("error") or error.reason
        except (ValueError, AttributeError):
            message = error.reason
        raise CliError(f"{what} answered {error.code}: {message}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise CliError(f"{what} at {url} does not answer ({reason})") from None


class Client:
    """The controller's API, and the agents' APIs it tells of; `token` gives the bearer token for
    the agents' (asked only when an agent is called)."""

    def __init__(self, base_url: str, token: Callable[[], str] | None = None) -> None:
        self.base_url = base_url
        self._token = token

    def get(self, path: str) -> Any:
        return _request(f"{self.base_url}{path}", "the controller")

    def post(self, path: str, body: Any) -> Any:
        return _request(f"{self.base_url}{path}", "the controller", body)

    def agent(self, node: str) -> dict[str, Any]:
        """What the controller knows of node `node`'s agent, which has reported its API."""
        agents = {agent["node"]: agent for agent in self.get("/api/v1/agents")}
        agent = agents.get(node)
        if agent is None:
            known = ", ".join(sorted(agents)) or "none"
            raise CliError(f"no agent of node {node!r} is known to the controller (agents: {known})")
        if not agent.get("apiAddress") or not agent.get("apiCA"):
            raise CliError(
                f"the agent of node {node} has not reported its API address and CA (no heartbeat yet)"
            )
        return agent

    def agent_get(self, node: str, path: str) -> Any:
        agent = self.agent(node)
        if self._token is None:
            raise CliError("no credentials for the agents' APIs")
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPSHandler(context=pinned_client_context(agent["apiCA"])),
        )
        return _request(
            f"https://{agent['apiAddress']}{path}",
            f"the agent of node {node}",
            opener=opener,
            headers={"Authorization": f"Bearer {self._token()}"},
        )
