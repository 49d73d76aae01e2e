"""The agent's observability, wired for `pyantrea-agent`:

    observe = Observability(config, agent, readiness, policies=lambda: runtime.realizer)
    observe.add_routes(http_server)          # before the HTTP server starts
    ... ControllerClient(..., heartbeat=observe.heartbeat(lambda: http_server.port))
    async with agent, observe:               # after the datapath is up: flow export configured

Traces name rules through the policy realizer, read when a trace or heartbeat needs it (the
policy side starts after the routes are registered).
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from agent.agent import Agent
from agent.observe import api
from agent.observe.appctl import Appctl
from agent.observe.explain import RuleRef
from agent.observe.flowexport import configure_flow_export
from agent.observe.heartbeat import AgentHeartbeat
from agent.observe.rules import RealizedRules
from agent.observe.tracer import Tracer
from agent.policy.realizer import PolicyRealizer
from pyantrea_api.objects import Direction
from pyantrea_api.reports import RuleTraffic
from pyantrea_config.agent import AgentConfig
from pyantrea_daemon.health import Readiness
from pyantrea_daemon.http import HttpServer


class _LateRules:
    """`PolicyRules` of a realizer that exists once the policy side has started."""

    def __init__(self, realizer: Callable[[], PolicyRealizer]) -> None:
        self._realizer = realizer

    def allowing(self, conj_id: int) -> RuleRef | None:
        return RealizedRules(self._realizer()).allowing(conj_id)

    def isolating(self, direction: Direction, pod: int) -> tuple[RuleRef, ...]:
        return RealizedRules(self._realizer()).isolating(direction, pod)

    async def traffic(self) -> tuple[RuleTraffic, ...]:
        return await RealizedRules(self._realizer()).traffic()


class Observability:
    """Flow export, the local API's flows and traces, and the heartbeat source."""

    def __init__(
        self,
        config: AgentConfig,
        agent: Agent,
        readiness: Readiness,
        *,
        policies: Callable[[], PolicyRealizer],
    ) -> None:
        self._config = config
        self._agent = agent
        self._readiness = readiness
        self._appctl = Appctl(config.ovs_run_dir)
        self._rules = _LateRules(policies)

    def add_routes(self, server: HttpServer) -> None:
        api.add_routes(server, lambda: self._agent.flows, Tracer(self._agent, self._appctl, self._rules))

    def heartbeat(self, api_port: Callable[[], int]) -> AgentHeartbeat:
        return AgentHeartbeat(
            self._agent, self._readiness, self._appctl, api_port=api_port, rule_traffic=self._rules.traffic
        )

    async def start(self) -> None:
        await configure_flow_export(self._agent.ovsdb, self._config.ovs_bridge, self._config.flow_export)

    async def __aenter__(self) -> Observability:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        return None
