"""The agent's local API before the datapath is up: its routes exist from the start (the server
serves /readyz while the agent sets up), and they answer 503 until the agent hands them its parts."""

import asyncio
import logging

import aiohttp

from agent.observe.api import STATS_PATH, AgentApi
from pyantrea_daemon.health import Readiness
from pyantrea_daemon.http import HttpServer

log = logging.getLogger(__name__)


def test_the_api_answers_503_until_served():
    async def main() -> dict[str, tuple[int, object]]:
        api = AgentApi()
        server = HttpServer(
            host="127.0.0.1", port=0, readiness=Readiness(logger=log), metrics=None, logger=log
        )
        api.add_routes(server)
        answers = {}
        async with server, aiohttp.ClientSession(f"http://127.0.0.1:{server.port}") as session:
            for method, path in (
                ("GET", "/api/v1/flows"),
                ("GET", "/api/v1/podinterfaces"),
                ("POST", "/api/v1/trace"),
                ("GET", STATS_PATH),
            ):
                async with session.request(method, path, json={}) as response:
                    answers[path] = (response.status, await response.json())
        return answers

    answers = asyncio.run(main())
    starting = (503, {"error": "the agent is setting up its datapath"})
    assert (
        answers["/api/v1/flows"] == answers["/api/v1/podinterfaces"] == answers["/api/v1/trace"] == starting
    )
    assert answers[STATS_PATH] == (200, [])  # no rules yet
