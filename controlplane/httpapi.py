"""The controller's JSON API, beside /livez, /readyz and /metrics on its HTTP port.

* `GET /api/v1/controller`: the controller itself (version, node, health, agents watching);
* `GET /api/v1/agents`: every agent watching now or heard from (node, connection, last
  heartbeat, version, API address, OVS version, flows, pods, health);
* `GET /api/v1/nodes`: Nodes with their pod subnet and tunnel endpoint;
* `GET /api/v1/networkpolicies`: every NetworkPolicy's realization (phase, nodes realized of
  nodes desired, observed generation, failure message), groups, span and rules with traffic;
* `GET /api/v1/addressgroups`, `GET /api/v1/appliedtogroups`: members, span, users;
* `GET /api/v1/dashboard`: all of the above in one document (what the dashboard streams);
* `GET /api/v1/services`: every Service the agents' AntreaProxy programmed, per port its
  endpoints and each node's, asked of every agent's API at the time (`unreachable`: the
  nodes whose agent did not answer, with why);
* `POST /api/v1/trace`: trace a packet from a pod to a pod, an address or a Service
  (`controlplane.dashboard.trace`): a `pyantrea_api.trace.TraceQuery` in, a `ClusterTrace`
  out; errors answer `{"error": "..."}` with a 4xx or 5xx status.

The documents are made by `controlplane.dashboard.views`.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from typing import Any, Protocol

import aiohttp
from aiohttp import web

from controlplane.compute.inputs import Pod
from controlplane.dashboard import views
from controlplane.dashboard.agentapi import AgentApiClient, AgentCallFailed
from controlplane.dashboard.trace import ClusterTracer, TraceFailed
from controlplane.server.watchers import Watcher
from controlplane.status.agents import AgentBoard, Heartbeat
from controlplane.status.board import PolicyStatus
from controlplane.store.versioned import Store
from pyantrea_api.services import SERVICES_PATH, ProgrammedService, ServicesError, services_from_json
from pyantrea_api.trace import TRACE_PATH, TraceError, TraceQuery
from pyantrea_daemon.health import Readiness
from pyantrea_daemon.http import HttpServer, JsonHandler
from pyantrea_daemon.version import version

Json = dict[str, Any]


class ControllerView(Protocol):
    """What the JSON API reads from the controller."""

    @property
    def agents(self) -> AgentBoard: ...

    @property
    def store(self) -> Store: ...

    def statuses(self) -> list[PolicyStatus]: ...

    def watchers(self) -> list[Watcher]: ...

    def nodes(self) -> list[str]: ...

    def pods(self) -> list[Pod]: ...

    def api_token(self) -> str | None:
        """The controller's bearer token, which it shows the agents' APIs."""
        ...


def controller_node() -> str:
    """The node the controller runs on: NODE_NAME (the downward API), else the host name."""
    return os.environ.get("NODE_NAME") or socket.gethostname()


class JsonApi:
    """The documents of the API, read from the controller at each request."""

    def __init__(self, controller: ControllerView, readiness: Readiness) -> None:
        self._controller = controller
        self._readiness = readiness
        self._node = controller_node()

    def controller(self) -> Json:
        controller = self._controller
        return views.controller_view(
            version=version(),
            node=self._node,
            checks=self._readiness.evaluate(),
            watchers=len({w.node for w in controller.watchers()}),
            resource_version=controller.store.resource_version,
        )

    def agents(self) -> list[Json]:
        return views.agents_view(self._controller.watchers(), self._controller.agents.heartbeats())

    def nodes(self) -> list[Json]:
        controller = self._controller
        return views.nodes_view(controller.nodes(), controller.watchers(), controller.agents.heartbeats())

    def network_policies(self) -> list[Json]:
        controller = self._controller
        return views.policies_view(
            controller.statuses(), controller.store.policies(), controller.agents.heartbeats()
        )

    def address_groups(self) -> list[Json]:
        store = self._controller.store
        users, _ = views.group_users(policy for policy, _ in store.policies().values())
        return views.groups_view(store.address_groups(), users)

    def applied_to_groups(self) -> list[Json]:
        store = self._controller.store
        _, users = views.group_users(policy for policy, _ in store.policies().values())
        return views.groups_view(store.applied_to_groups(), users)

    def dashboard(self) -> Json:
        return {
            "controller": self.controller(),
            "agents": self.agents(),
            "nodes": self.nodes(),
            "networkPolicies": self.network_policies(),
            "addressGroups": self.address_groups(),
            "appliedToGroups": self.applied_to_groups(),
        }

    async def trace(self, request: web.Request) -> web.Response:
        try:
            query = TraceQuery.from_json(await request.json())
        except TraceError as error:
            return web.json_response({"error": str(error)}, status=400)
        except ValueError:
            return web.json_response({"error": "the body must be JSON"}, status=400)
        controller = self._controller
        async with aiohttp.ClientSession() as session:
            tracer = ClusterTracer(AgentApiClient(session, controller.api_token()))
            try:
                result = await tracer.trace(query, controller.pods(), controller.agents.heartbeats())
            except TraceFailed as failed:
                return web.json_response({"error": str(failed)}, status=failed.status)
        return web.json_response(result.to_json())

    async def services(self) -> Json:
        """Every agent's programmed Services, asked of all of them at once."""
        controller = self._controller
        beats = [beat for beat in controller.agents.heartbeats() if beat.info.api_address]
        programmed: dict[str, list[ProgrammedService]] = {}
        unreachable: dict[str, str] = {}
        async with aiohttp.ClientSession() as session:
            agents = AgentApiClient(session, controller.api_token())

            async def ask(beat: Heartbeat) -> None:
                try:
                    body = await agents.get(beat, SERVICES_PATH)
                    programmed[beat.node] = services_from_json(body, f"node {beat.node}")
                except (AgentCallFailed, ServicesError) as error:
                    unreachable[beat.node] = str(error)

            await asyncio.gather(*(ask(beat) for beat in beats))
        return views.services_view(programmed, unreachable)


def add_routes(server: HttpServer, controller: ControllerView, readiness: Readiness) -> JsonApi:
    """Serve the JSON API on `server`; returns it (the dashboard streams its documents)."""
    api = JsonApi(controller, readiness)

    def serve(document: Callable[[], Any]) -> JsonHandler:
        async def handler(request: web.Request) -> Any:
            return document()

        return handler

    for path, document in (
        ("controller", api.controller),
        ("agents", api.agents),
        ("nodes", api.nodes),
        ("networkpolicies", api.network_policies),
        ("addressgroups", api.address_groups),
        ("appliedtogroups", api.applied_to_groups),
        ("dashboard", api.dashboard),
    ):
        server.add_json_route("GET", f"/api/v1/{path}", serve(document))
    server.add_route("POST", TRACE_PATH, api.trace)

    async def services(request: web.Request) -> Json:
        return await api.services()

    server.add_json_route("GET", SERVICES_PATH, services)
    return api
