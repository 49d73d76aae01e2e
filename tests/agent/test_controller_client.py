"""The agent's controller client against a real controller: the saved state stands in while the
controller is down at start, the controller's state replaces it, and any error resyncs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace

from agent.policy.dirty import Dirty
from agent.policy.store import Change, StateSource
from controlplane.app import Controller
from pyantrea_kube.resources import NETWORK_POLICIES, PODS
from tests.controlplane import k8s
from tests.controlplane.serving import (
    FAST,
    Cluster,
    Recorder,
    cluster,
    members,
    policy_refs,
    run,
    running,
    until,
)

__all__ = ["cluster"]

FROM_DB = [{"from": [{"podSelector": k8s.labels(app="db")}]}]
OBJECTS = [
    k8s.namespace("prod"),
    k8s.node("n1"),
    k8s.pod("prod", "web1", {"app": "web"}, node="n1", ip="10.0.1.1"),
    k8s.pod("prod", "db1", {"app": "db"}, node="n1", ip="10.0.1.2"),
    k8s.policy(
        "prod", "web", k8s.labels(app="web"), ingress=[{"from": [{"podSelector": k8s.labels(app="db")}]}]
    ),
    k8s.policy("prod", "db", k8s.labels(app="db"), policy_types=["Egress"]),
]


def test_saved_state_stands_in_until_the_controller_answers(cluster: Cluster) -> None:
    async def scenario() -> None:
        await cluster.create(*OBJECTS)
        state_dir = cluster.tmp_path / "policies"
        config = cluster.controller_config()
        async with Controller(config) as controller:
            config = replace(config, api_port=controller.api_port)
            agent = cluster.agent("n1", controller.api_port, state_dir=state_dir)
            async with running(agent):
                await until(lambda: agent.connected, "the first agent's sync")
                received = agent.snapshot()
                await agent.wait_saved()
        assert policy_refs(received) == {"prod/web", "prod/db"}

        # The agent restarts while the controller is down: after fallback_after, the files.
        recorder = Recorder()
        restarted = cluster.agent("n1", config.api_port, recorder, state_dir=state_dir)
        async with running(restarted):
            await restarted.wait_synced()
            assert recorder.replaces == [(received, StateSource.FILES)]
            assert restarted.source is StateSource.FILES and not restarted.connected
            # Meanwhile a policy goes and a peer is added; the controller comes back.
            await cluster.delete(NETWORK_POLICIES, "prod", "db")
            await cluster.create(k8s.pod("prod", "db2", {"app": "db"}, node="n1", ip="10.0.1.3"))
            async with Controller(config):
                await until(lambda: restarted.connected, "the controller's state")
                snapshot, source = recorder.replaces[-1]
                assert source is StateSource.CONTROLLER and len(recorder.replaces) == 2
                assert policy_refs(snapshot) == {"prod/web"}
                assert list(members(snapshot).values()) == [{"prod/db1@10.0.1.2", "prod/db2@10.0.1.3"}]

    run(scenario())


def test_nothing_saved_means_nothing_to_stand_in(cluster: Cluster) -> None:
    async def scenario() -> None:
        agent = cluster.agent("n1", 1, state_dir=cluster.tmp_path / "empty")  # nothing listens on 1
        async with running(agent):
            await asyncio.sleep(FAST.fallback_after * 2)
            assert not agent.synced and agent.source is None

    run(scenario())


class _FailsOnce(Recorder):
    """Its first patch fails, as a rule cache would on a group it cannot find."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    def on_changes(self, changes: Sequence[Change], dirty: Dirty) -> None:
        if not self.failed:
            self.failed = True
            raise RuntimeError("cannot apply this patch")
        super().on_changes(changes, dirty)


def test_a_failing_listener_resyncs(cluster: Cluster) -> None:
    async def scenario() -> None:
        await cluster.create(*OBJECTS)
        async with Controller(cluster.controller_config()) as controller:
            listener = _FailsOnce()
            agent = cluster.agent("n1", controller.api_port, listener)
            async with running(agent):
                await until(lambda: agent.connected, "the sync")
                await cluster.delete(PODS, "prod", "db1")
                await until(lambda: len(listener.replaces) == 2, "the resync")
                assert listener.failed and agent.resyncs == 2
                assert list(members(listener.replaces[-1][0]).values()) == [set()]

    run(scenario())
