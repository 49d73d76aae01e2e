"""The dashboard's page and its live feed, on the controller's HTTP port.

    GET /                    redirects to /dashboard/
    GET /dashboard/          the page (static/index.html; app.js and style.css beside it)
    GET /api/v1/events       server-sent events: `state`, the /api/v1/dashboard document

The page needs nothing from the internet: it is plain HTML, CSS and JavaScript served from
here. The event stream sends the document when it connects, then again after every change the
controller sees (a store event: policies or groups computed; an agent's report: realization or
heartbeat), at most every `_SETTLE` seconds, and at least every `_REFRESH` seconds (for what
changes without an event, such as a policy the computation refused, and to keep proxies from
closing a quiet stream). The page renders each document whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

from aiohttp import web

from controlplane.httpapi import ControllerView, JsonApi
from pyantrea_daemon.http import HttpServer

STATIC = Path(__file__).parent / "static"
_FILES = {"index.html": "text/html", "app.js": "text/javascript", "style.css": "text/css"}
_SETTLE = 0.3
_REFRESH = 5.0


def add_dashboard(server: HttpServer, controller: ControllerView, api: JsonApi) -> None:
    async def root(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/dashboard/")

    async def static(request: web.Request) -> web.StreamResponse:
        name = request.match_info.get("name") or "index.html"
        if name not in _FILES:
            raise web.HTTPNotFound()
        headers = {"Content-Type": _FILES[name], "Cache-Control": "no-cache"}
        return web.FileResponse(STATIC / name, headers=headers)

    async def events(request: web.Request) -> web.StreamResponse:
        headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        response = web.StreamResponse(headers=headers)
        await response.prepare(request)
        changed = asyncio.Event()
        unsubscribe = (
            controller.store.subscribe(lambda events: changed.set()),
            controller.agents.subscribe(changed.set),
        )
        try:
            sent = ""
            while True:
                changed.clear()
                document = json.dumps(api.dashboard(), separators=(",", ":"))
                if document != sent:
                    await response.write(f"event: state\ndata: {document}\n\n".encode())
                    sent = document
                else:
                    await response.write(b": unchanged\n\n")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), _REFRESH)
                await asyncio.sleep(_SETTLE)
        finally:
            for stop in unsubscribe:
                stop()

    server.add_route("GET", "/", root)
    server.add_route("GET", "/dashboard/", static)
    server.add_route("GET", "/dashboard/{name}", static)
    server.add_route("GET", "/api/v1/events", events)
