"""ClusterNetworkPolicy through the controller on a real kube-apiserver with the upstream CRD
(manifests/crds/): the informer picks policies up (also when the CRD is installed after the
controller started), agents get them with tier and priority, and the realization lands in the
policy's status conditions."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import yaml

from controlplane.app import Controller
from manifests.networkpolicyapi import CRD
from pyantrea_api.objects import RuleAction, Tier
from pyantrea_kube.resources import CLUSTER_NETWORK_POLICIES, CUSTOM_RESOURCE_DEFINITIONS
from tests.controlplane import k8s
from tests.controlplane.serving import Cluster, Realizer, cluster, eventually, run, running, until

__all__ = ["cluster"]

OBJECTS = [
    k8s.namespace("prod"),
    k8s.node("n1"),
    k8s.node("n2"),
    k8s.pod("prod", "web1", {"app": "web"}, node="n1", ip="10.0.1.1"),
    k8s.pod("prod", "web2", {"app": "web"}, node="n2", ip="10.0.2.1"),
]
DENY = k8s.cluster_policy(
    "deny-web", "Admin", 10,
    {"pods": {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "web"}}}},
    ingress=[{"name": "nobody", "action": "Deny", "from": [{"namespaces": {}}]}],
    egress=[{"name": "docs", "action": "Accept", "to": [{"domainNames": ["*.kubernetes.io"]}]}],
)  # fmt: skip


def install_crd(cluster: Cluster) -> None:
    body = yaml.safe_load(CRD.read_text())
    cluster.rest.create(CUSTOM_RESOURCE_DEFINITIONS, None, body)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        conditions = cluster.rest.get(CUSTOM_RESOURCE_DEFINITIONS, None, body["metadata"]["name"])
        if any(
            c["type"] == "Established" and c["status"] == "True"
            for c in (conditions.get("status") or {}).get("conditions") or []
        ):
            return
        time.sleep(0.1)
    raise AssertionError("the ClusterNetworkPolicy CRD was not Established")


def conditions_of(cluster: Cluster, name: str):
    async def fetch() -> dict[str, Any]:
        obj = await cluster.get(CLUSTER_NETWORK_POLICIES, None, name)
        return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}

    return fetch


def test_a_cluster_policy_reaches_its_agents_and_its_status(cluster: Cluster) -> None:
    async def scenario() -> None:
        await cluster.create(*OBJECTS)
        async with Controller(cluster.controller_config(), status_interval=0.1) as controller:
            # The CRD arrives after the controller started: the informer waits for it.
            await asyncio.sleep(1)
            await asyncio.to_thread(install_crd, cluster)
            await cluster.create(DENY)
            realizer1, realizer2 = Realizer(), Realizer()
            agent1 = cluster.agent("n1", controller.api_port, realizer1)
            agent2 = cluster.agent("n2", controller.api_port, realizer2)
            async with running(agent1, agent2):
                await until(lambda: len(agent1.snapshot().policies) == 1, "n1 gets the policy", timeout=60)
                (policy,) = agent1.snapshot().policies.values()
                assert (policy.tier, policy.priority, policy.source_ref.name) == (Tier.ADMIN, 10, "deny-web")
                assert [r.action for r in policy.rules] == [RuleAction.DENY, RuleAction.ACCEPT]
                assert policy.rules[1].peer.fqdns == ("*.kubernetes.io",)
                conditions = await eventually(
                    conditions_of(cluster, "deny-web"),
                    lambda c: c.get("Realized", {}).get("status") == "True",
                    "Realized",
                )
                realized = conditions["Realized"]
                assert realized["reason"] == "Realized" and realized["observedGeneration"] == 1
                assert realized["message"] == "Realized on 2/2 nodes (generation 1)"
                # domainNames are enforced (by the agents, from the DNS answers their pods get)
                assert conditions["FullyEnforced"]["status"] == "True"
                # An edit: Realized again at generation 2, and still fully enforced.
                await cluster.patch(
                    CLUSTER_NETWORK_POLICIES, None, "deny-web", {"spec": {"egress": None, "priority": 11}}
                )
                conditions = await eventually(
                    conditions_of(cluster, "deny-web"),
                    lambda c: (
                        c.get("Realized", {}).get("observedGeneration") == 2
                        and c["Realized"]["status"] == "True"
                    ),
                    "generation 2 Realized",
                )
                assert conditions["FullyEnforced"]["status"] == "True"
                await cluster.delete(CLUSTER_NETWORK_POLICIES, None, "deny-web")
                await until(lambda: not agent1.snapshot().policies, "the policy is gone")

    run(scenario())
