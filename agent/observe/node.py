"""`NodeDatapath`: what the agent's observers (traces, heartbeats) know of the node's started
datapath, fixed for the run: the node, its bridge and the bridge's tunnel and gateway ports.

The agent's composition (`agent.main`) makes it once the datapath is up; the observers read the
pods and the flows through their own narrow interfaces (`agent.pods.api.PodInterfaces`,
`TableCounts`), never through the whole agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from agent.node.local import LocalNode


@dataclass(frozen=True, slots=True)
class NodeDatapath:
    """The node and its br-int, as set up at start."""

    node: LocalNode
    """Name, pod subnet, address; the gateway's address and MAC."""
    bridge: str
    """The integration bridge's name (`ovsBridge`)."""
    gateway_port: str
    """The gateway's name (`hostGateway`)."""
    tunnel_type: str
    gateway_ofport: int
    tunnel_ofport: int


class TableCounts(Protocol):
    """The flows installed per table (the `FlowClient`)."""

    def table_counts(self) -> dict[int, int]: ...
