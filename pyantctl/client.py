"""How `pyantctl get` and `pyantctl trace` reach the controller and the agents.

The controller's HTTP API (the dashboard's JSON API, `controlplane.httpapi`) is found, first
match wins:

1. `--server URL` (for example `http://10.0.0.5:10351`);
2. `$PYANTREA_SERVER`;
3. the default the command line gives: the running lab's controller, which only `pyantctl lab`
   knows how to find (`pyantctl.labcmd.server`); this module knows nothing of labs.

An agent's local API is reached at the address the agent reports in its heartbeats
(`apiAddress` in `GET /api/v1/agents` of the controller): the node's address and the agent's
`apiPort`.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from pyantctl.errors import CliError

SERVER_ENV = "PYANTREA_SERVER"
_TIMEOUT = 30.0
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""Cluster addresses are never reached through a proxy of the environment."""

ServerFinder = Callable[[], str]
"""Where the controller's HTTP API is when neither `--server` nor $PYANTREA_SERVER says."""


def controller_url(server: str | None, default: ServerFinder) -> str:
    """`server`, else $PYANTREA_SERVER, else what `default` finds."""
    url = server or os.environ.get(SERVER_ENV)
    if url:
        return url.rstrip("/")
    return default()


def _request(url: str, what: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with _OPENER.open(request, timeout=_TIMEOUT) as response:
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
    """The controller's API, and the agents' APIs it tells of."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def get(self, path: str) -> Any:
        return _request(f"{self.base_url}{path}", "the controller")

    def post(self, path: str, body: Any) -> Any:
        return _request(f"{self.base_url}{path}", "the controller", body)

    def agent_address(self, node: str) -> str:
        """host:port of the API of node `node`'s agent."""
        agents = {agent["node"]: agent for agent in self.get("/api/v1/agents")}
        agent = agents.get(node)
        if agent is None:
            known = ", ".join(sorted(agents)) or "none"
            raise CliError(f"no agent of node {node!r} is known to the controller (agents: {known})")
        if not agent.get("apiAddress"):
            raise CliError(f"the agent of node {node} has not reported its API address (no heartbeat yet)")
        return str(agent["apiAddress"])

    def agent_get(self, node: str, path: str) -> Any:
        address = self.agent_address(node)
        return _request(f"http://{address}{path}", f"the agent of node {node}")
