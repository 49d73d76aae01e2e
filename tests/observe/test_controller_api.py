"""The controller's JSON API, event stream, dashboard files and metrics, against a controller
in-process, a real kube-apiserver and agents as real `ControllerClient`s sending heartbeats
over TLS.

Node n1's agent is healthy, n2's has a failing check; both report traffic for the rule of
policy prod/web; node n3 has no agent.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from agent.controller.client import ControllerClient
from agent.policy.store import PolicyStore
from controlplane.app import Controller
from controlplane.dashboard.routes import add_dashboard
from controlplane.httpapi import add_routes
from pyantrea_api.reports import AgentInfo, HealthCheck, RuleTraffic, TableFlows
from pyantrea_daemon.health import Readiness
from pyantrea_daemon.http import HttpServer
from pyantrea_daemon.metrics import Metrics
from tests.controlplane import k8s
from tests.controlplane.serving import FAST, Cluster, Realizer, cluster, eventually, run, running

__all__ = ["cluster"]

log = logging.getLogger(__name__)

SETTINGS = replace(FAST, heartbeat_interval=0.2)
OBJECTS = [
    k8s.namespace("prod"),
    k8s.node("n1"),
    k8s.node("n2"),
    k8s.node("n3"),
    k8s.pod("prod", "web1", {"app": "web"}, node="n1", ip="10.0.1.1"),
    k8s.pod("prod", "web2", {"app": "web"}, node="n2", ip="10.0.2.1"),
    k8s.pod("prod", "db1", {"app": "db"}, node="n3", ip="10.0.3.1"),
    k8s.policy(
        "prod",
        "web",
        k8s.labels(app="web"),
        ingress=[{"from": [{"podSelector": k8s.labels(app="db")}], "ports": [{"port": 5432}]}],
    ),
]


class Heartbeat:
    """An agent's heartbeat: node `index`, and the traffic its rules saw (set by the test)."""

    def __init__(self, index: int, failing: str | None = None) -> None:
        self.index = index
        self.failing = failing
        self.rules: tuple[RuleTraffic, ...] = ()

    async def agent_info(self) -> AgentInfo:
        return AgentInfo(
            version="9.9.9",
            api_address=f"192.0.2.{self.index}:10350",
            ovs_version="3.1.0",
            node_ip=f"192.0.2.{self.index}",
            pod_cidr=f"10.0.{self.index}.0/24",
            tunnel_type="geneve",
            pods=self.index,
            flows=(TableFlows(0, "Classifier", 4), TableFlows(90, "IngressRule", 3 * self.index)),
            checks=(HealthCheck("datapath", None), HealthCheck("networkpolicy", self.failing)),
            rules=self.rules,
        )


def agent(cluster: Cluster, node: str, port: int, heartbeat: Heartbeat) -> ControllerClient:
    realizer, store = Realizer(), PolicyStore()
    store.add_listener(realizer)
    client = ControllerClient(
        node_name=node,
        target=f"127.0.0.1:{port}",
        ca_file=cluster.tmp_path / "ca.crt",
        token_file=cluster.token_file(node),
        store=store,
        state_dir=None,
        settings=SETTINGS,
        heartbeat=heartbeat,
    )
    realizer.client = client
    return client


async def next_state(stream: aiohttp.StreamReader) -> dict[str, Any]:
    """The next `state` event of a server-sent event stream."""
    event, data = "", ""
    while True:
        line = (await stream.readline()).decode().rstrip("\n")
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif not line and event == "state":
            return json.loads(data)


def test_api_stream_and_metrics_show_agents_nodes_policies_groups(cluster: Cluster) -> None:
    async def scenario() -> None:
        await cluster.create(*OBJECTS)
        metrics = Metrics("controller")
        readiness = Readiness(logger=log)
        controller = Controller(cluster.controller_config(), metrics=metrics, status_interval=0.1)
        controller.add_readiness_checks(readiness)
        server = HttpServer(host="127.0.0.1", port=0, readiness=readiness, metrics=metrics, logger=log)
        add_dashboard(server, controller, add_routes(server, controller, readiness))
        beats = {"n1": Heartbeat(1), "n2": Heartbeat(2, failing="installing the initial NetworkPolicies")}
        async with server, controller, aiohttp.ClientSession(f"http://127.0.0.1:{server.port}") as http:

            async def get(path: str) -> Any:
                async with http.get(path) as response:
                    assert response.status == 200, await response.text()
                    return await response.json()

            uid = next(s.uid for s in controller.statuses() if s.name == "web")
            beats["n1"].rules = (RuleTraffic(uid, 0, 3, 300),)
            beats["n2"].rules = (RuleTraffic(uid, 0, 4, 400),)
            n2 = agent(cluster, "n2", controller.api_port, beats["n2"])
            async with running(agent(cluster, "n1", controller.api_port, beats["n1"])):
                async with running(n2):
                    agents = await eventually(
                        lambda: get("/api/v1/agents"),
                        lambda agents: len(agents) == 2 and all("lastHeartbeat" in a for a in agents),
                        "both agents' heartbeats",
                    )
                    one, two = agents
                    assert (one["node"], one["connected"], one["healthy"]) == ("n1", True, True)
                    assert (two["node"], two["connected"], two["healthy"]) == ("n2", True, False)
                    assert two["checks"] == {
                        "datapath": None,
                        "networkpolicy": "installing the initial NetworkPolicies",
                    }
                    assert one["apiAddress"] == "192.0.2.1:10350" and one["ovsVersion"] == "3.1.0"
                    # These agents serve no API: the Services view says so, node by node.
                    assert await get("/api/v1/services") == {
                        "services": [],
                        "unreachable": {
                            node: f"the agent of node {node} reports no certificate for its API"
                            for node in ("n1", "n2")
                        },
                    }
                    assert (one["flows"], one["pods"], one["version"]) == (7, 1, "9.9.9")
                    assert one["flowsByTable"][1] == {"table": 90, "name": "IngressRule", "flows": 3}
                    assert one["eventsSent"] > 0 and one["peer"].startswith("ipv4:127.0.0.1")

                    nodes = {n["name"]: n for n in await get("/api/v1/nodes")}
                    assert nodes["n2"] == {
                        "name": "n2", "podCIDR": "10.0.2.0/24", "nodeIP": "192.0.2.2", "tunnelType": "geneve",
                        "agentConnected": True,
                    }  # fmt: skip
                    assert nodes["n3"]["podCIDR"] is None and not nodes["n3"]["agentConnected"]

                    (web,) = await eventually(
                        lambda: get("/api/v1/networkpolicies"),
                        lambda policies: policies[0]["phase"] == "Realized",
                        "prod/web Realized",
                    )
                    assert web["span"] == ["n1", "n2"]
                    (rule,) = web["rules"]
                    assert (rule["name"], rule["direction"], rule["ports"]) == (
                        "ingress[0]",
                        "Ingress",
                        ["TCP/5432"],
                    )
                    assert (rule["packets"], rule["bytes"]) == (7, 700)
                    assert rule["nodes"] == {
                        "n1": {"packets": 3, "bytes": 300},
                        "n2": {"packets": 4, "bytes": 400},
                    }

                    (peers,) = await get("/api/v1/addressgroups")
                    assert peers["name"] == rule["addressGroups"][0] and peers["policies"] == ["prod/web"]
                    assert peers["members"] == [{"pod": "prod/db1", "ips": ["10.0.3.1"], "node": "n3"}]
                    (applied,) = await get("/api/v1/appliedtogroups")
                    assert [m["pod"] for m in applied["members"]] == ["prod/web1", "prod/web2"]
                    assert applied["name"] == web["appliedToGroups"][0]

                    status = await get("/api/v1/controller")
                    assert (
                        status["healthy"] and status["agentsConnected"] == 2 and status["resourceVersion"] > 0
                    )

                    async with http.get("/api/v1/events") as events:
                        assert events.headers["Content-Type"].startswith("text/event-stream")
                        state = await next_state(events.content)
                        assert set(state) == set(await get("/api/v1/dashboard"))
                        assert [a["connected"] for a in state["agents"]] == [True, True]
                        await cluster.create(k8s.pod("prod", "db2", {"app": "db"}, node="n3", ip="10.0.3.2"))
                        state = await next_state(events.content)
                        while len(state["addressGroups"][0]["members"]) != 2:
                            state = await next_state(events.content)

                # n2's agent went away: still listed, with its last heartbeat, not connected.
                agents = await eventually(
                    lambda: get("/api/v1/agents"),
                    lambda agents: not agents[1]["connected"],
                    "n2 disconnected",
                )
                assert agents[1]["lastHeartbeat"] and "peer" not in agents[1]

            async with http.get("/metrics") as response:
                families = {f.name: f for f in text_string_to_metric_families(await response.text())}
            objects = {s.labels["kind"]: s.value for s in families["pyantrea_controller_objects"].samples}
            assert objects == {"NetworkPolicy": 1, "AddressGroup": 1, "AppliedToGroup": 1}
            assert sum(s.value for s in families["pyantrea_controller_events_sent"].samples) > 0
            assert "pyantrea_controller_watchers" in families
            assert any(
                s.name == "pyantrea_controller_computation_seconds_count" and s.value > 0
                for s in families["pyantrea_controller_computation_seconds"].samples
            )
            assert families["pyantrea_controller_status_reports"].samples[0].value > 0
            assert families["pyantrea_controller_sync_errors"].type == "counter"

    run(scenario())


def test_dashboard_files_and_trace_refusals(cluster: Cluster) -> None:
    async def scenario() -> None:
        await cluster.create(*OBJECTS)
        readiness = Readiness(logger=log)
        controller = Controller(cluster.controller_config(), status_interval=0.1)
        server = HttpServer(host="127.0.0.1", port=0, readiness=readiness, metrics=None, logger=log)
        add_dashboard(server, controller, add_routes(server, controller, readiness))
        async with server, controller, aiohttp.ClientSession(f"http://127.0.0.1:{server.port}") as http:
            async with http.get("/", allow_redirects=False) as response:
                assert (response.status, response.headers["Location"]) == (302, "/dashboard/")
            async with http.get("/dashboard/") as response:
                page = await response.text()
                assert response.headers["Content-Type"].startswith("text/html")
            assert '<script src="app.js">' in page and 'href="style.css"' in page and "http" not in page
            async with http.get("/dashboard/app.js") as response:
                assert response.headers["Content-Type"].startswith("text/javascript")
                assert "EventSource" in await response.text()
            async with http.get("/dashboard/secret.txt") as response:
                assert response.status == 404

            async def trace(body: Any) -> tuple[int, str]:
                async with http.post("/api/v1/trace", json=body) as response:
                    return response.status, (await response.json())["error"]

            assert await trace({"source": "web1", "destination": "prod/db1", "port": 80}) == (
                400, "source must be a pod as NAMESPACE/NAME, got 'web1'"
            )  # fmt: skip
            assert await trace({"source": "prod/web1", "destination": "prod/db1"}) == (
                400, "port is required for TCP"
            )  # fmt: skip
            status, error = await trace({"source": "prod/web1", "destination": "prod/db1", "protocol": "GRE"})
            assert status == 400 and error.startswith("protocol must be one of TCP, UDP, SCTP, ICMP")
            assert await trace({"source": "prod/nope", "destination": "prod/db1", "port": 80}) == (
                404, "source pod prod/nope not found"
            )  # fmt: skip
            # No agent has sent a heartbeat: nobody to ask.
            await eventually(lambda: asyncio.sleep(0, controller.pods()), lambda pods: len(pods) == 3, "pods")
            assert await trace({"source": "prod/web1", "destination": "10.0.3.1", "port": 80}) == (
                503, "the agent of node n1 has not reported its API address"
            )  # fmt: skip

    run(scenario())
