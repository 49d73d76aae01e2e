"""Resync: every (re)connect replaces the agent's state, and a slow agent is cut off alone.

A controller restart while a policy is deleted: the agent drops it (and its saved file). An
agent that stops reading is disconnected once its queue is full, while a fast agent on the
same controller receives everything without a resync.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import grpc
import pytest

from agent.controller.filestore import DIRECTORIES
from agent.policy.store import StateSource
from controlplane.app import Controller
from controlplane.auth.shared import node_token
from pyantrea_api.events import ObjectKind
from pyantrea_daemon.metrics import Metrics
from pyantrea_kube.resources import NETWORK_POLICIES
from tests.controlplane import k8s
from tests.controlplane.serving import (
    SECRET,
    Cluster,
    Recorder,
    cluster,
    policy_refs,
    raw_watch,
    run,
    running,
    until,
)

__all__ = ["cluster"]

BASE = [
    k8s.namespace("prod"),
    k8s.node("n1"),
    k8s.node("n2"),
    k8s.pod("prod", "web1", {"app": "web"}, node="n1", ip="10.0.1.1"),
    k8s.pod("prod", "web2", {"app": "web"}, node="n2", ip="10.0.2.1"),
]


def test_controller_restart_drops_a_policy_deleted_meanwhile(cluster: Cluster) -> None:
    async def scenario() -> None:
        keep = k8s.policy("prod", "keep", k8s.labels(app="web"), policy_types=["Ingress"])
        gone = k8s.policy("prod", "gone", k8s.labels(app="web"), policy_types=["Egress"])
        await cluster.create(*BASE, keep, gone)
        state_dir = cluster.tmp_path / "agent-state"
        recorder = Recorder()
        config = cluster.controller_config()
        async with Controller(config) as first:
            agent = cluster.agent("n1", first.api_port, recorder, state_dir=state_dir)
            config = replace(config, api_port=first.api_port)
            async with running(agent):
                await until(lambda: agent.connected, "the first sync")
                assert policy_refs(agent.snapshot()) == {"prod/keep", "prod/gone"}
                await first.stop()
                await until(lambda: not agent.connected, "the agent to notice")
                await cluster.delete(NETWORK_POLICIES, "prod", "gone")
                async with Controller(config):
                    await until(lambda: len(recorder.replaces) == 2, "the resync")
                    snapshot, source = recorder.replaces[-1]
                    assert source is StateSource.CONTROLLER
                    assert policy_refs(snapshot) == policy_refs(agent.snapshot()) == {"prod/keep"}
                    await agent.wait_saved()
                    saved = state_dir / DIRECTORIES[ObjectKind.NETWORK_POLICY]
                    assert sorted(path.name for path in saved.iterdir()) == list(snapshot.policies)

    run(scenario())


def test_a_slow_watcher_is_cut_off_while_a_fast_one_keeps_up(cluster: Cluster) -> None:
    """n1's watcher reads its first message and then nothing; n2's agent reads everything."""

    async def scenario() -> None:
        await cluster.create(*BASE)
        metrics = Metrics("controller")
        config = cluster.controller_config(watcher_queue_size=10)
        async with Controller(config, metrics=metrics) as controller:
            recorder = Recorder()
            fast = cluster.agent("n2", controller.api_port, recorder)
            async with cluster.channel(controller.api_port, small_window=True) as channel, running(fast):
                slow = raw_watch(channel, "n1", node_token(SECRET, "n1"))
                await slow.read()
                await until(lambda: fast.connected, "the fast agent's sync")
                # Policies big enough (50 ipBlocks each) to fill the slow one's window quickly.
                peers = [{"ipBlock": {"cidr": f"10.{i}.0.0/16"}} for i in range(50)]
                for i in range(80):
                    policy = k8s.policy("prod", f"p{i}", k8s.labels(app="web"), ingress=[{"from": peers}])
                    await cluster.create(policy)
                    await asyncio.sleep(0.01)
                await until(lambda: len(fast.snapshot().policies) == 80, "all policies on the fast agent")
                with pytest.raises(grpc.aio.AioRpcError) as ended:
                    while True:
                        await asyncio.wait_for(slow.read(), 10)
                assert ended.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                assert "fell behind" in (ended.value.details() or "")
                assert len(recorder.replaces) == 1, "the fast agent never resynced"
                terminated = metrics.registry.get_sample_value(
                    "pyantrea_controller_watchers_terminated_total", {"reason": "slow"}
                )
                assert terminated == 1

    run(scenario())
