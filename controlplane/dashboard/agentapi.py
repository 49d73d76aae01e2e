"""The controller's client of the agents' APIs: HTTPS to the API address of each agent's
heartbeat, trusting the CA that agent sent (and nothing else), showing the controller's
ServiceAccount token, which the agent reviews and authorizes (`agent.observe.access`).

Used by the cluster trace (`controlplane.dashboard.trace`) and the Services view (each agent's
`GET /api/v1/services`).
"""

from __future__ import annotations

from typing import Any

import aiohttp

from controlplane.status.agents import Heartbeat
from pyantrea_daemon.certificates import pinned_client_context

_AGENT_TIMEOUT = aiohttp.ClientTimeout(total=20)


class AgentCallFailed(Exception):
    """An agent's API could not answer; `status` is the HTTP status to pass on (400: the agent
    refused what was asked, 502: the agent failed, 503: it has not reported its API)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class AgentApiClient:
    def __init__(self, session: aiohttp.ClientSession, token: str | None) -> None:
        self._session = session
        self._headers = {} if token is None else {"Authorization": f"Bearer {token}"}

    async def get(self, beat: Heartbeat, path: str) -> Any:
        return await self._call("GET", beat, path, None)

    async def post(self, beat: Heartbeat, path: str, body: Any) -> Any:
        return await self._call("POST", beat, path, body)

    async def _call(self, method: str, beat: Heartbeat, path: str, body: Any) -> Any:
        if not beat.info.api_address:
            raise AgentCallFailed(f"the agent of node {beat.node} has not reported its API address", 503)
        if not beat.info.api_ca:
            raise AgentCallFailed(f"the agent of node {beat.node} reports no certificate for its API", 503)
        url = f"https://{beat.info.api_address}{path}"
        try:
            async with self._session.request(
                method,
                url,
                json=body,
                timeout=_AGENT_TIMEOUT,
                headers=self._headers,
                ssl=pinned_client_context(beat.info.api_ca),
            ) as response:
                answer = await response.json(content_type=None)
                if response.status != 200:
                    message = answer.get("error") if isinstance(answer, dict) else answer
                    # The agent's 400s are about what was asked; anything else is the agent's.
                    status = 400 if response.status == 400 else 502
                    raise AgentCallFailed(f"node {beat.node}: {message}", status)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise AgentCallFailed(
                f"the agent of node {beat.node} at {beat.info.api_address} does not answer: {error!r}", 502
            ) from error
        return answer
