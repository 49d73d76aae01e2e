"""`NodeDatapath`: what the agent's observers (traces, heartbeats) know of the node's started
datapath: the node, its bridge and the bridge's tunnel and gateway ports (fixed for the run),
and the pods attached now (read through `agent.pods.api.PodInterfaces`).

The agent's composition (`agent.main`) makes it once the datapath is up; it is the tracer's
`TraceNode`, and the heartbeat reads the flows through `TableCounts`: no observer holds the
whole agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from agent.node.local import LocalNode
from agent.pods.api import PodInterface, PodInterfaces


@dataclass(frozen=True, slots=True)
class NodeDatapath:
    """The node and its br-int, as set up at start, and its pods."""

    local: LocalNode
    """Name, pod subnet, address; the gateway's address and MAC."""
    bridge: str
    """The integration bridge's name (`ovsBridge`)."""
    gateway: str
    """The gateway interface's name (`hostGateway`)."""
    tunnel_type: str
    gateway_ofport: int
    tunnel_ofport: int
    pods: PodInterfaces

    @property
    def name(self) -> str:
        return self.local.name

    def interfaces(self) -> list[PodInterface]:
        """The pods attached on the node now."""
        return self.pods.interfaces()


class TableCounts(Protocol):
    """The flows installed per table (the `FlowClient`)."""

    def table_counts(self) -> dict[int, int]: ...
