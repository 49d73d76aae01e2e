"""How `pyantctl get` and `pyantctl trace` reach the controller and the agents.

The controller's HTTP API (the dashboard's JSON API, `controlplane.httpapi`) is found, first
match wins:

1. `--server URL` (for example `http://10.0.0.5:10351`);
2. `$PYANTREA_SERVER`;
3. the running lab (`$PYANTREA_LAB_DIR`, see `pyantctl lab`): its controller on the first node,
   at the HTTP port the lab gives it. The lab's addresses exist only inside its network
   namespaces, so pyantctl first moves into the lab's underlay namespace, as `pyantctl lab`
   commands do.

An agent's local API is reached at the address the agent reports in its heartbeats
(`apiAddress` in `GET /api/v1/agents` of the controller): the node's address and the agent's
`apiPort`.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

from lab import netns
from lab.layout import LabLayout
from lab.session import LabSession
from lab.up import CONTROLLER_HTTP_PORT
from pyantctl.errors import CliError

SERVER_ENV = "PYANTREA_SERVER"
_TIMEOUT = 30.0
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""Cluster addresses are never reached through a proxy of the environment."""


def lab_controller_url(layout: LabLayout) -> str:
    """The controller of the lab in `layout`, after moving into the lab's underlay namespace."""
    record = LabSession(layout).record
    if not netns.exists(record.underlay):
        raise CliError(
            f"the lab's underlay namespace {record.underlay} is gone; clean up with `pyantctl lab down`"
        )
    netns.enter(record.underlay)
    return f"http://{record.nodes[0].address.split('/')[0]}:{CONTROLLER_HTTP_PORT}"


def controller_url(server: str | None) -> str:
    """`server`, else $PYANTREA_SERVER, else the running lab's controller."""
    url = server or os.environ.get(SERVER_ENV)
    if url:
        return url.rstrip("/")
    return lab_controller_url(LabLayout.from_environment())


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
