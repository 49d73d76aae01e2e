"""The HTTP server every program runs: ``/livez``, ``/readyz``, ``/metrics`` and the program's own routes.

``/livez`` answers 200 while the event loop runs. ``/readyz`` evaluates the readiness checks:
200 when all pass, else 503; the body always names every check and why it fails, e.g.
``{"status": "not ready", "checks": {"ovs": null, "initial-sync": "waiting for the controller"}}``.
``/metrics`` serves the program's registry in the Prometheus text format, and only when metrics
are enabled. Programs add their routes before ``start()`` (aiohttp freezes the router then)::

    server = HttpServer(host="127.0.0.1", port=0, readiness=readiness, metrics=metrics, logger=log)
    server.add_json_route("GET", "/api/v1/policies", list_policies)
    async with server:
        ...  # server.port is the bound port

With an ``ssl_context`` the server speaks HTTPS only. A ``guard`` decides about every request
but those of ``OPEN_PATHS``: it answers (401, 403, ...) or lets the request through. The health
paths stay open because a kubelet probes them without credentials, and ``/metrics`` because it
holds only aggregate counts and latencies (no pod, address or policy) and Prometheus scrapes it
from the pod annotations without a token.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from pyantrea_daemon.health import Readiness
from pyantrea_daemon.metrics import Metrics

JsonHandler = Callable[[web.Request], Awaitable[Any]]
"""Returns a JSON-serializable value (dicts, lists, strings, numbers, booleans, None)."""

OPEN_PATHS = frozenset({"/livez", "/readyz", "/metrics"})
"""Served to anyone, whatever the guard says."""


class Guard(Protocol):
    """Decides whether a request may reach its route."""

    async def refusal(self, request: web.Request) -> web.StreamResponse | None:
        """The answer that refuses `request` (401, 403, 503), or None to let it through."""
        ...


# In-flight requests (a dashboard's event stream, say) are cancelled this long after stop().
_SHUTDOWN_SECONDS = 2.0


class HttpServer:
    """An aiohttp server bound to one address and port, stopped cleanly."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        readiness: Readiness,
        metrics: Metrics | None,
        logger: logging.Logger,
        ssl_context: ssl.SSLContext | None = None,
        guard: Guard | None = None,
    ) -> None:
        self._host = host
        self._ssl_context = ssl_context
        self._port = port
        self._readiness = readiness
        self._logger = logger
        self._app = web.Application(middlewares=[] if guard is None else [_guarding(guard)])
        self._runner: web.AppRunner | None = None
        self._bound_port: int | None = None
        self._app.router.add_get("/livez", self._livez)
        self._app.router.add_get("/readyz", self._readyz)
        if metrics is not None:
            self._app.router.add_get("/metrics", _metrics_page(metrics))

    def add_route(
        self, method: str, path: str, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> None:
        """Serve ``path`` with a plain aiohttp handler (HTML, event streams, files)."""
        self._app.router.add_route(method, path, handler)

    def add_json_route(self, method: str, path: str, handler: JsonHandler) -> None:
        """Serve ``path`` with the JSON of what ``handler`` returns."""

        async def respond(request: web.Request) -> web.Response:
            return web.json_response(await handler(request))

        self._app.router.add_route(method, path, respond)

    @property
    def port(self) -> int:
        """The port the server listens on (the one the OS chose when configured with 0)."""
        if self._bound_port is None:
            raise RuntimeError("the HTTP server is not started")
        return self._bound_port

    async def start(self) -> None:
        runner = web.AppRunner(self._app, access_log=None, shutdown_timeout=_SHUTDOWN_SECONDS)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port, ssl_context=self._ssl_context)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        self._bound_port = runner.addresses[0][1]
        scheme = "HTTPS" if self._ssl_context is not None else "HTTP"
        self._logger.info("%s server listening on %s:%d", scheme, self._host, self._bound_port)

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
            self._logger.info("HTTP server on port %d stopped", self._bound_port)

    async def __aenter__(self) -> HttpServer:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.stop()

    async def _livez(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _readyz(self, request: web.Request) -> web.Response:
        checks = self._readiness.evaluate()
        ready = all(reason is None for reason in checks.values())
        body = {"status": "ok" if ready else "not ready", "checks": checks}
        return web.json_response(body, status=200 if ready else 503)


def _metrics_page(metrics: Metrics) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def serve(request: web.Request) -> web.Response:
        response = web.Response(body=metrics.exposition())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    return serve


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _guarding(guard: Guard) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in OPEN_PATHS:
            refusal = await guard.refusal(request)
            if refusal is not None:
                return refusal
        return await handler(request)

    return middleware
