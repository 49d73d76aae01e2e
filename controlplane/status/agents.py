"""The agents as the controller last heard from them: each node's latest heartbeat.

Agents send a heartbeat (`AgentInfo`) with the first status report of every watch and then
every heartbeat interval. The board keeps the latest per node with the time it came, and tells
its listeners after every report (a heartbeat, or realization progress), so a dashboard can
refresh. Whether an agent is connected is the dispatcher's to say (it is watching or not);
heartbeats stay after a disconnection and tell how the agent was when last heard from.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pyantrea_api.reports import AgentInfo, StatusReport
from pyantrea_api.values import value

Listener = Callable[[], None]


@value
class Heartbeat:
    node: str
    info: AgentInfo
    received_at: float
    """Seconds since the epoch."""


class AgentBoard:
    """The latest heartbeat of every node's agent."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._heartbeats: dict[str, Heartbeat] = {}
        self._listeners: list[Listener] = []

    def report(self, report: StatusReport) -> None:
        """An agent's status report: keep its heartbeat, if it carries one; tell the listeners."""
        if report.agent is not None:
            node = report.node_name
            self._heartbeats[node] = Heartbeat(node, report.agent, self._clock())
        for listener in self._listeners:
            listener()

    def get(self, node: str) -> Heartbeat | None:
        return self._heartbeats.get(node)

    def heartbeats(self) -> list[Heartbeat]:
        """Every node's latest heartbeat, by node."""
        return [self._heartbeats[node] for node in sorted(self._heartbeats)]

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` after every report; returns the function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)
