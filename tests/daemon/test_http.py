"""The HTTP server, for real on 127.0.0.1 with an OS-chosen port: health, readiness, metrics, routes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from pyantrea_daemon.health import Readiness
from pyantrea_daemon.http import HttpServer
from pyantrea_daemon.metrics import Metrics

log = logging.getLogger("test.http")


def serve(
    scenario: Callable[[HttpServer, aiohttp.ClientSession], Awaitable[None]],
    *,
    readiness: Readiness | None = None,
    metrics: Metrics | None = None,
    setup: Callable[[HttpServer], None] = lambda server: None,
) -> None:
    async def main() -> None:
        server = HttpServer(
            host="127.0.0.1",
            port=0,
            readiness=readiness or Readiness(logger=log),
            metrics=metrics,
            logger=log,
        )
        setup(server)
        async with server, aiohttp.ClientSession(f"http://127.0.0.1:{server.port}") as session:
            await scenario(server, session)

    asyncio.run(main())


async def get(session: aiohttp.ClientSession, path: str) -> tuple[int, Any]:
    async with session.get(path) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


def test_livez_and_readyz_without_checks() -> None:
    async def scenario(server: HttpServer, session: aiohttp.ClientSession) -> None:
        assert server.port > 0
        assert await get(session, "/livez") == (200, {"status": "ok"})
        assert await get(session, "/readyz") == (200, {"status": "ok", "checks": {}})

    serve(scenario)


def test_readiness_flips_and_names_the_failing_check() -> None:
    synced = asyncio.Event()
    readiness = Readiness(logger=log)
    readiness.add_check("ovs", lambda: None)
    readiness.add_check("initial-sync", lambda: None if synced.is_set() else "waiting for the controller")

    async def scenario(server: HttpServer, session: aiohttp.ClientSession) -> None:
        assert await get(session, "/readyz") == (
            503,
            {"status": "not ready", "checks": {"ovs": None, "initial-sync": "waiting for the controller"}},
        )
        synced.set()
        assert await get(session, "/readyz") == (
            200,
            {"status": "ok", "checks": {"ovs": None, "initial-sync": None}},
        )
        synced.clear()
        status, body = await get(session, "/readyz")
        assert status == 503
        assert body["checks"]["initial-sync"] == "waiting for the controller"

    serve(scenario, readiness=readiness)


def test_a_raising_check_fails_readiness_with_its_error() -> None:
    def broken() -> str | None:
        raise RuntimeError("ovsdb connection lost")

    readiness = Readiness(logger=log)
    readiness.add_check("ovs", broken)

    async def scenario(server: HttpServer, session: aiohttp.ClientSession) -> None:
        assert await get(session, "/readyz") == (
            503,
            {"status": "not ready", "checks": {"ovs": "check raised RuntimeError('ovsdb connection lost')"}},
        )

    serve(scenario, readiness=readiness)


def test_check_names_are_unique() -> None:
    readiness = Readiness(logger=log)
    readiness.add_check("ovs", lambda: None)
    with pytest.raises(ValueError, match="readiness check 'ovs' is already registered"):
        readiness.add_check("ovs", lambda: None)


def test_metrics_are_served_in_prometheus_format() -> None:
    metrics = Metrics("agent")
    flows = metrics.gauge("ovs_flow_count", "Flows installed per table.", labels=["table"])
    flows.labels(table="IngressRule").set(12)
    errors = metrics.counter("cni_errors", "CNI operations that failed.")
    errors.inc(3)
    latency = metrics.histogram("bundle_seconds", "OpenFlow bundle latency.", buckets=(0.01, 0.1, 1.0))
    latency.observe(0.05)

    async def scenario(server: HttpServer, session: aiohttp.ClientSession) -> None:
        async with session.get("/metrics") as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain; version=")
            text = await response.text()
        samples = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }
        assert samples[("pyantrea_agent_ovs_flow_count", (("table", "IngressRule"),))] == 12
        assert samples[("pyantrea_agent_cni_errors_total", ())] == 3
        assert samples[("pyantrea_agent_bundle_seconds_bucket", (("le", "0.1"),))] == 1
        assert samples[("pyantrea_agent_bundle_seconds_count", ())] == 1
        assert ("process_resident_memory_bytes", ()) in samples

    serve(scenario, metrics=metrics)


def test_no_metrics_page_when_metrics_are_disabled() -> None:
    async def scenario(server: HttpServer, session: aiohttp.ClientSession) -> None:
        status, _ = await get(session, "/metrics")
        assert status == 404

    serve(scenario, metrics=None)


def test_programs_mount_json_and_plain_routes() -> None:
    policies = {"default/deny-all": {"phase": "Realized"}}

    async def list_policies(request: web.Request) -> Any:
        return policies

    async def get_policy(request: web.Request) -> Any:
        key = f"{request.match_info['namespace']}/{request.match_info['name']}"
        if key not in policies:
            raise web.HTTPNotFound(text=f"no policy {key}")
        return policies[key]

    async def page(request: web.Request) -> web.StreamResponse:
        return web.Response(text="<h1>pyantrea</h1>", content_type="text/html")

    def setup(server: HttpServer) -> None:
        server.add_json_route("GET", "/api/v1/policies", list_policies)
        server.add_json_route("GET", "/api/v1/policies/{namespace}/{name}", get_policy)
        server.add_route("GET", "/", page)

    async def scenario(server: HttpServer, session: aiohttp.ClientSession) -> None:
        assert await get(session, "/api/v1/policies") == (200, policies)
        assert await get(session, "/api/v1/policies/default/deny-all") == (200, {"phase": "Realized"})
        assert await get(session, "/api/v1/policies/default/other") == (404, "no policy default/other")
        assert await get(session, "/") == (200, "<h1>pyantrea</h1>")

    serve(scenario, setup=setup)


def test_stop_releases_the_port() -> None:
    async def main() -> None:
        server = HttpServer(
            host="127.0.0.1", port=0, readiness=Readiness(logger=log), metrics=None, logger=log
        )
        async with server:
            port = server.port
        again = HttpServer(
            host="127.0.0.1", port=port, readiness=Readiness(logger=log), metrics=None, logger=log
        )
        async with again:
            assert again.port == port

    asyncio.run(main())


class RefuseAll:
    """A guard that turns every request away, to see which paths it is asked about."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def refusal(self, request: web.Request) -> web.StreamResponse | None:
        self.asked.append(request.path)
        return web.json_response({"error": "no"}, status=401)


def test_a_guard_decides_every_path_but_health_and_metrics() -> None:
    guard = RefuseAll()
    metrics = Metrics("guarded")

    async def main() -> dict[str, int]:
        server = HttpServer(
            host="127.0.0.1",
            port=0,
            readiness=Readiness(logger=log),
            metrics=metrics,
            logger=log,
            guard=guard,
        )
        server.add_json_route("GET", "/api/v1/things", lambda request: asyncio.sleep(0, result=[]))
        statuses = {}
        async with server, aiohttp.ClientSession(f"http://127.0.0.1:{server.port}") as session:
            for path in ("/livez", "/readyz", "/metrics", "/api/v1/things", "/nowhere"):
                async with session.get(path) as response:
                    statuses[path] = response.status
        return statuses

    assert asyncio.run(main()) == {
        "/livez": 200, "/readyz": 200, "/metrics": 200, "/api/v1/things": 401, "/nowhere": 401,
    }  # fmt: skip
    assert guard.asked == ["/api/v1/things", "/nowhere"]
