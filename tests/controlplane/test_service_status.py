"""Realization status: agents report what they installed, the controller concludes a phase per
NetworkPolicy, writes it to the policy (status or annotation) and serves it on its JSON API.

Also: a policy the computation cannot use is Failed with its error while the others work.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp
import pytest
from kubernetes.client import ApiException

from controlplane.app import Controller
from controlplane.httpapi import add_routes
from controlplane.status.writer import ANNOTATION
from pyantrea_daemon.health import Readiness
from pyantrea_daemon.http import HttpServer
from pyantrea_kube.resources import NETWORK_POLICIES
from tests.controlplane import k8s
from tests.controlplane.serving import (
    Cluster,
    Realizer,
    cluster,
    eventually,
    policy_refs,
    run,
    running,
    until,
)

__all__ = ["cluster"]

log = logging.getLogger(__name__)

FROM_DB = [{"from": [{"podSelector": k8s.labels(app="db")}]}]
OBJECTS = [
    k8s.namespace("prod"),
    k8s.node("n1"),
    k8s.node("n2"),
    k8s.node("n3"),
    k8s.pod("prod", "web1", {"app": "web"}, node="n1", ip="10.0.1.1"),
    k8s.pod("prod", "web2", {"app": "web"}, node="n2", ip="10.0.2.1"),
    k8s.pod("prod", "db1", {"app": "db"}, node="n3", ip="10.0.3.1"),
    k8s.policy("prod", "web", k8s.labels(app="web"), ingress=FROM_DB),
    k8s.policy("prod", "nobody", k8s.labels(app="none"), policy_types=["Ingress"]),
]
BAD_CIDR = k8s.policy(
    "prod", "bad-cidr", k8s.labels(app="web"), ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/33"}}]}]
)
BAD_OPERATOR = k8s.policy(
    "prod",
    "bad-operator",
    {"matchExpressions": [{"key": "app", "operator": "Near", "values": ["web"]}]},
    policy_types=["Ingress"],
)
BAD_PORT = k8s.policy("prod", "bad-port", k8s.labels(app="web"), ingress=[{"ports": [{"port": 70000}]}])


def status_of(cluster: Cluster, name: str):
    """A fetch of the policy's realization status as the controller wrote it (its annotation)."""

    async def fetch() -> dict[str, Any]:
        obj = await cluster.get(NETWORK_POLICIES, "prod", name)
        annotations = obj["metadata"].get("annotations") or {}
        return json.loads(annotations[ANNOTATION]) if ANNOTATION in annotations else {}

    return fetch


def phase(name: str):
    return lambda status: status.get("phase") == name


def test_status_reaches_realized_and_is_written(cluster: Cluster) -> None:
    async def scenario() -> None:
        await cluster.create(*OBJECTS)
        config = cluster.controller_config()
        async with Controller(config, status_interval=0.1) as controller:
            agent1 = cluster.agent("n1", controller.api_port, Realizer())
            agent2 = cluster.agent("n2", controller.api_port, Realizer())
            web, nobody = status_of(cluster, "web"), status_of(cluster, "nobody")
            async with running(agent1):
                # Only n1 of the two nodes of the span reports (Realizing 0/2 comes before that).
                status = await eventually(
                    web, lambda s: phase("Realizing")(s) and s["currentNodesRealized"] == 1, "web 1/2"
                )
                assert (status["currentNodesRealized"], status["desiredNodesRealized"]) == (1, 2)
                async with running(agent2):
                    status = await eventually(web, phase("Realized"), "web Realized")
                    assert (status["currentNodesRealized"], status["desiredNodesRealized"]) == (2, 2)
                    assert status["observedGeneration"] == 1
                    assert "message" not in status or not status["message"]
                    # A policy selecting no pod has nothing to realize.
                    status = await eventually(nobody, phase("Realized"), "nobody Realized")
                    assert (status["currentNodesRealized"], status["desiredNodesRealized"]) == (0, 0)
                    # An edit is Realized again once both nodes installed the new generation.
                    rule = {**FROM_DB[0], "ports": [{"port": 80}]}
                    await cluster.patch(NETWORK_POLICIES, "prod", "web", {"spec": {"ingress": [rule]}})
                    status = await eventually(
                        web, lambda s: s.get("observedGeneration") == 2 and s["phase"] == "Realized", "gen 2"
                    )
                    assert (status["currentNodesRealized"], status["desiredNodesRealized"]) == (2, 2)

    run(scenario())


def test_invalid_policies_are_refused_by_the_api_server_and_the_rest_works(cluster: Cluster) -> None:
    """A real API server validates NetworkPolicy: invalid ones never reach pyantrea (its own
    checks of the same fields are tested on the converters, tests/controlplane/test_kubeparse)."""

    async def scenario() -> None:
        await cluster.create(*OBJECTS)
        expected = {
            "bad-cidr": (BAD_CIDR, "spec.ingress[0].from[0].ipBlock.cidr"),
            "bad-operator": (BAD_OPERATOR, "spec.podSelector.matchExpressions[0].operator"),
            "bad-port": (BAD_PORT, "spec.ingress[0].ports[0].port"),
        }
        for name, (policy, field) in expected.items():
            with pytest.raises(ApiException) as refused:
                await cluster.create(policy)
            assert refused.value.status == 422 and field in refused.value.body, name
        async with Controller(cluster.controller_config(), status_interval=0.1) as controller:
            agent = cluster.agent("n1", controller.api_port, Realizer())
            async with running(agent):
                await until(lambda: agent.connected, "n1's sync")
                assert policy_refs(agent.snapshot()) == {"prod/web"}
                await eventually(status_of(cluster, "web"), phase("Realizing"), "web Realizing")
                # Fixed, the policy works like any other.
                fixed = {
                    **BAD_CIDR,
                    "spec": {
                        **BAD_CIDR["spec"],
                        "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}],
                    },
                }
                await cluster.create(fixed)
                await until(lambda: policy_refs(agent.snapshot()) == {"prod/web", "prod/bad-cidr"}, "the fix")
                status = await eventually(status_of(cluster, "bad-cidr"), phase("Realizing"), "fixed")
                assert (status["currentNodesRealized"], status["desiredNodesRealized"]) == (1, 2)
                assert not status.get("message")

    run(scenario())


def test_a_node_failing_to_realize_fails_the_policy(cluster: Cluster) -> None:
    async def scenario() -> None:
        await cluster.create(*OBJECTS)
        async with Controller(cluster.controller_config(), status_interval=0.1) as controller:
            agent1 = cluster.agent("n1", controller.api_port, Realizer())
            agent2 = cluster.agent("n2", controller.api_port, Realizer(failing=frozenset({"web"})))
            async with running(agent1, agent2):
                status = await eventually(status_of(cluster, "web"), phase("Failed"), "web Failed")
                assert status["message"] == "n2: no flows for you"
                assert (status["currentNodesRealized"], status["desiredNodesRealized"]) == (1, 2)

    run(scenario())


def test_json_api_serves_phases_and_agents(cluster: Cluster) -> None:
    async def scenario() -> None:
        await cluster.create(*OBJECTS)
        controller = Controller(cluster.controller_config(), status_interval=0.1)
        readiness = Readiness(logger=log)
        server = HttpServer(host="127.0.0.1", port=0, readiness=readiness, metrics=None, logger=log)
        add_routes(server, controller, readiness)
        async with server, controller, aiohttp.ClientSession(f"http://127.0.0.1:{server.port}") as http:

            async def get(path: str) -> Any:
                async with http.get(path) as response:
                    assert response.status == 200
                    return await response.json()

            agents = [
                cluster.agent("n1", controller.api_port, Realizer()),
                cluster.agent("n2", controller.api_port, Realizer(failing=frozenset({"web"}))),
            ]
            async with running(*agents):
                expected = {"nobody": "Realized", "web": "Failed"}
                policies = await eventually(
                    lambda: get("/api/v1/networkpolicies"),
                    lambda policies: {p["name"]: p["phase"] for p in policies} == expected,
                    "the phases",
                )
                web = next(p for p in policies if p["name"] == "web")
                assert (web["currentNodesRealized"], web["desiredNodesRealized"]) == (1, 2)
                assert web["namespace"] == "prod" and web["uid"] and web["observedGeneration"] == 1
                connected = await get("/api/v1/agents")
                assert [a["node"] for a in connected] == ["n1", "n2"]
                assert all(a["eventsSent"] > 0 and a["peer"].startswith("ipv4:127.0.0.1") for a in connected)

    run(scenario())
