"""The controller's JSON API, beside /livez, /readyz and /metrics on its HTTP port.

* `GET /api/v1/networkpolicies`: every NetworkPolicy's realization (phase, nodes realized of
  nodes desired, observed generation, failure message);
* `GET /api/v1/agents`: the agents watching now (node, address, since when, events sent and
  queued).
"""

from __future__ import annotations

import datetime
from typing import Any, Protocol

from aiohttp import web

from controlplane.server.watchers import Watcher
from controlplane.status.board import PolicyStatus
from daemon.http import HttpServer


class ControllerView(Protocol):
    """What the JSON API reads from the controller."""

    def statuses(self) -> list[PolicyStatus]: ...

    def watchers(self) -> list[Watcher]: ...


def add_routes(server: HttpServer, controller: ControllerView) -> None:
    async def network_policies(request: web.Request) -> list[dict[str, Any]]:
        return [
            {"namespace": s.namespace, "name": s.name, "uid": s.uid, **s.fields()}
            for s in controller.statuses()
        ]

    async def agents(request: web.Request) -> list[dict[str, Any]]:
        return [
            {
                "node": w.node,
                "peer": w.peer,
                "connectedSince": datetime.datetime.fromtimestamp(w.connected_at, datetime.UTC).isoformat(),
                "eventsSent": w.events_sent,
                "eventsQueued": w.queued,
            }
            for w in sorted(controller.watchers(), key=lambda w: (w.node, w.connected_at))
        ]

    server.add_json_route("GET", "/api/v1/networkpolicies", network_policies)
    server.add_json_route("GET", "/api/v1/agents", agents)
