"""The controller serving watches: a real controller (informers on a real kube-apiserver through the
`kubernetes` client, the computation, the gRPC server over TLS) and real agent clients.

Initial sync, incremental patches, a node entering and leaving a span, and a policy change.
"""

from __future__ import annotations

from agent.controller.client import ControllerClient
from agent.policy.store import (
    AddressGroupDeleted,
    AddressGroupPatched,
    AddressGroupSet,
    AppliedToGroupDeleted,
    AppliedToGroupSet,
    PolicyDeleted,
    PolicySet,
)
from controlplane.app import Controller
from pyantrea_kube.resources import NETWORK_POLICIES, PODS
from tests.controlplane import k8s
from tests.controlplane.serving import Cluster, Recorder, cluster, members, policy_refs, run, running, until

__all__ = ["cluster"]

WEB_FROM_DB = k8s.policy(
    "prod", "web-from-db", k8s.labels(app="web"), ingress=[{"from": [{"podSelector": k8s.labels(app="db")}]}]
)


def base_objects() -> list[dict]:
    return [
        k8s.namespace("prod"),
        k8s.node("n1"),
        k8s.node("n2"),
        k8s.node("n3"),
        k8s.pod("prod", "web1", {"app": "web"}, node="n1", ip="10.0.1.1"),
        k8s.pod("prod", "db1", {"app": "db"}, node="n2", ip="10.0.2.1"),
        WEB_FROM_DB,
    ]


def test_initial_sync_then_patches_and_span_changes(cluster: Cluster) -> None:
    async def scenario() -> None:
        await cluster.create(*base_objects())
        async with Controller(cluster.controller_config()) as controller:
            rec1, rec2 = Recorder(), Recorder()
            agent1 = cluster.agent("n1", controller.api_port, rec1)
            agent2 = cluster.agent("n2", controller.api_port, rec2)
            async with running(agent1, agent2):
                await until(lambda: agent1.connected and agent2.connected, "both agents synced")

                # n1 hosts the selected pod: the policy, its AppliedToGroup and the db AddressGroup.
                state1 = agent1.snapshot()
                assert policy_refs(state1) == {"prod/web-from-db"}
                assert list(members(state1).values()) == [{"prod/db1@10.0.2.1"}]
                assert list(members(state1, applied_to=True).values()) == [{"prod/web1@10.0.1.1"}]
                # n2 hosts only a peer: nothing to enforce there.
                assert agent2.snapshot() == type(state1)({}, {}, {})
                assert len(rec1.replaces) == len(rec2.replaces) == 1

                # Another db pod: n1 gets a patch of the AddressGroup, n2 still nothing.
                await cluster.create(k8s.pod("prod", "db2", {"app": "db"}, node="n3", ip="10.0.3.1"))
                await until(lambda: len(members(agent1.snapshot())[_only(agent1, "address")]) == 2, "db2")
                patched = rec1.changes[-1]
                assert isinstance(patched, AddressGroupPatched)
                assert [m.name for m in patched.patch.added] == ["db2"]
                assert patched.patch.removed == ()
                assert rec2.changes == []

                # A web pod on n2: n2 enters the span and gets all three, with only its own member.
                await cluster.create(k8s.pod("prod", "web2", {"app": "web"}, node="n2", ip="10.0.2.2"))
                await until(lambda: policy_refs(agent2.snapshot()) == {"prod/web-from-db"}, "n2 in span")
                state2 = agent2.snapshot()
                assert list(members(state2, applied_to=True).values()) == [{"prod/web2@10.0.2.2"}]
                assert list(members(state2).values()) == [{"prod/db1@10.0.2.1", "prod/db2@10.0.3.1"}]
                assert {type(c) for c in rec2.changes} == {PolicySet, AddressGroupSet, AppliedToGroupSet}
                assert list(members(agent1.snapshot(), applied_to=True).values()) == [{"prod/web1@10.0.1.1"}]

                # The web pod goes: n2 leaves the span, everything is deleted there.
                await cluster.delete(PODS, "prod", "web2")
                await until(lambda: agent2.snapshot() == type(state1)({}, {}, {}), "n2 out of span")
                assert {type(c) for c in rec2.changes[-3:]} == {
                    PolicyDeleted,
                    AddressGroupDeleted,
                    AppliedToGroupDeleted,
                }

                # A policy edit reaches n1 whole, with the new generation.
                before = next(iter(agent1.snapshot().policies.values()))
                await cluster.patch(
                    NETWORK_POLICIES,
                    "prod",
                    "web-from-db",
                    {
                        "spec": {
                            "ingress": [
                                {"from": [{"podSelector": k8s.labels(app="db")}], "ports": [{"port": 80}]}
                            ]
                        }
                    },
                )
                await until(
                    lambda: next(iter(agent1.snapshot().policies.values())).generation > before.generation,
                    "the edited policy",
                )
                modified = rec1.changes[-1]
                assert isinstance(modified, PolicySet)
                assert [s.port for s in modified.policy.rules[0].services] == [80]
                assert len(rec1.replaces) == len(rec2.replaces) == 1

    run(scenario())


def _only(agent: ControllerClient, which: str) -> str:
    state = agent.snapshot()
    groups = state.address_groups if which == "address" else state.applied_to_groups
    (name,) = groups
    return name
