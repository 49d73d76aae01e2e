"""The agent's NetworkPolicy side, wired: controller client, rule cache, realizer, pod hook.

    policies = PolicyRuntime(config, agent)          # before agent.start(): a convergence gate
    policies.add_routes(http_server)                 # before the HTTP server starts
    async with agent, policies:                      # after the datapath is up
        await policies.wait_initial()                # the initial policies are installed
        cni_gate.open()                              # only now may pods get networking
        await policies.wait()                        # until a task fails

Start-up follows Antrea: the controller client watches (or, when the controller does not
answer in time, hands over the policies an earlier run saved); the realizer installs that
initial set in one bundle; only then does pod networking open and may the agent delete the
previous run's flows. A node that never saved any policy and cannot reach the controller opens
with none (there is nothing it knew to enforce), and installs them once the controller answers.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from agent.agent import Agent
from agent.controller.client import (
    ClientMetrics,
    ClientSettings,
    ControllerClient,
    HeartbeatSource,
    controller_target,
)
from agent.controller.filestore import DIRECTORIES
from agent.policy.realizer import PolicyRealizer
from pyantrea_config.agent import AgentConfig
from pyantrea_daemon.health import Readiness
from pyantrea_daemon.http import HttpServer
from pyantrea_daemon.service import Service
from pyantrea_daemon.tasks import first_of

log = logging.getLogger(__name__)

CONVERGENCE_GATE = "networkpolicy"
STATS_PATH = "/api/v1/networkpolicies/stats"
# After the client's fallback deadline, how long it may take to load the saved files.
_FALLBACK_GRACE = 1.0
_SAVE_ON_STOP = 2.0


class PolicyRuntime(Service):
    """Runs the controller client and the policy realizer for a started `Agent`."""

    def __init__(
        self,
        config: AgentConfig,
        agent: Agent,
        *,
        settings: ClientSettings | None = None,
        heartbeat: HeartbeatSource | None = None,
        client_metrics: ClientMetrics | None = None,
    ) -> None:
        super().__init__(logger=log)
        self._config = config
        self._agent = agent
        self._settings = settings or ClientSettings()
        self._heartbeat = heartbeat
        self._client_metrics = client_metrics
        self._converged = agent.add_convergence_gate(CONVERGENCE_GATE)
        self._realizer: PolicyRealizer | None = None
        self._client: ControllerClient | None = None

    @property
    def realizer(self) -> PolicyRealizer:
        if self._realizer is None:
            raise RuntimeError("the policy runtime is not started")
        return self._realizer

    @property
    def client(self) -> ControllerClient:
        if self._client is None:
            raise RuntimeError("the policy runtime is not started")
        return self._client

    def add_readiness_checks(self, readiness: Readiness) -> None:
        readiness.add_check(
            "networkpolicy",
            lambda: None if self._converged.is_set() else "installing the initial NetworkPolicies",
        )

    def add_routes(self, server: HttpServer) -> None:
        server.add_json_route("GET", STATS_PATH, self._stats)

    async def _start(self) -> None:
        """Start watching and realizing; the agent must be started."""
        agent, config = self._agent, self._config
        realizer = self._realizer = PolicyRealizer(agent.flows)
        for interface in agent.pods.interfaces():
            realizer.add_pod(interface)
        agent.pods.add_listener(realizer)
        self._client = ControllerClient(
            node_name=config.node_name,
            target=controller_target(config),
            ca_file=config.controller_ca_file,
            token_file=config.controller_token_file,
            listener=realizer.cache,
            state_dir=config.policy_state_dir,
            settings=self._settings,
            heartbeat=self._heartbeat,
            metrics=self._client_metrics,
        )
        realizer.report_to(self._client)
        self._tasks.spawn(realizer.run(), name="policy-realizer")
        self._tasks.spawn(self._client.run(), name="controller-client")

    async def stop(self) -> None:
        """Stop; first the saved files catch up with what the controller sent (briefly)."""
        if self._client is not None:
            try:
                async with asyncio.timeout(_SAVE_ON_STOP):
                    await self._client.wait_saved()
            except TimeoutError:
                log.warning("the policy files may miss the last changes: saving took over %gs", _SAVE_ON_STOP)
        await super().stop()

    async def wait_initial(self) -> None:
        """Until the initial policies are installed; then the previous run's flows may go."""
        await first_of(self._initial(), self._tasks.wait())
        self._converged.set()

    async def _initial(self) -> None:
        client = self.client
        deadline = self._settings.fallback_after + _FALLBACK_GRACE
        try:
            await asyncio.wait_for(client.wait_synced(), deadline)
        except TimeoutError:
            if await asyncio.to_thread(_nothing_saved, self._config.policy_state_dir):
                log.warning(
                    "the controller is not reachable and no policies were saved: pod networking "
                    "opens with none; they are installed once the controller answers"
                )
                return
            log.info("waiting for the controller or the saved policies")
            await client.wait_synced()
        await self.realizer.flushed()
        log.info(
            "initial policies installed from the %s: %s",
            client.source.value if client.source else "controller",
            self.realizer.reconciler.flows.counts(),
        )

    async def _stats(self, request: web.Request) -> list[dict[str, Any]]:
        if self._realizer is None:
            return []
        return [stats.to_json() for stats in await self._realizer.rule_stats()]


def _nothing_saved(state_dir: Path) -> bool:
    """Whether no earlier run saved any object under `state_dir`."""
    for folder in DIRECTORIES.values():
        path = state_dir / folder
        if path.is_dir() and any(not entry.name.startswith(".") for entry in path.iterdir()):
            return False
    return True
