"""The policy flows the reconciler wants, kept so that a change costs only the flows it touches.

`PolicyFlows` holds, for both directions, the shared match flows of the three clause kinds
(`agent.policy._shared.SharedMatches`: peers, pods, ports; each match one flow with the
conjunction() action of every conjunction that uses it), each conjunction's own flows (its
action flow in the rule table and its three metric flows), and the default isolation drops (a pod
is isolated while any rule isolates it, counted).

`flush()` turns what is marked into the change to send: the flows to put (new or with other
actions) and the identities to remove. Matches are built once per flow and kept while it lives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from agent.openflow import _matches
from agent.openflow.builders import metrics
from agent.openflow.builders import policy as builders
from agent.openflow.client import FlowKey
from agent.openflow.cookies import Category, Cookies
from agent.policy import _shared
from agent.policy.addresses import PeerAddress, ip_of, mask_of, prefix_of
from agent.policy.ports import PortMatch
from fastpath import Flow, Match
from pyantrea_api.objects import Direction


@dataclass(slots=True)
class FlowChange:
    """Flows to put (add or replace) and flow identities to remove, in one bundle."""

    put: list[Flow] = field(default_factory=list)
    remove: list[FlowKey] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.put or self.remove)


class PolicyFlows:
    """Every policy flow of both directions; `flush()` gives the change since the last flush."""

    def __init__(self, cookies: Cookies) -> None:
        self._cookies = cookies
        cookie = cookies(Category.POLICY)
        self.peers: dict[Direction, _shared.SharedMatches] = {}
        self.pods: dict[Direction, _shared.SharedMatches] = {}
        self.ports: dict[Direction, _shared.SharedMatches] = {}
        for direction in Direction:
            table = builders.RULE_TABLE[direction]
            self.peers[direction] = _shared.SharedMatches(table, _peer_builder(direction), cookie)
            self.pods[direction] = _shared.SharedMatches(table, _pod_builder(direction), cookie)
            self.ports[direction] = _shared.SharedMatches(table, _port_match, cookie)
        self._isolation_cookie = cookie
        self._isolated: dict[Direction, dict[int, int]] = {d: {} for d in Direction}
        self._isolation_dirty: set[tuple[Direction, int]] = set()
        self._conjunctions: dict[int, tuple[Flow, ...]] = {}
        self._conjunctions_dirty: dict[int, Direction | None] = {}

    # -- each conjunction's own flows ----------------------------------------------------------

    def add_conjunction(self, direction: Direction, conj_id: int) -> None:
        self._conjunctions_dirty[conj_id] = direction

    def remove_conjunction(self, conj_id: int) -> None:
        self._conjunctions_dirty[conj_id] = None

    def _conjunction_flows(self, direction: Direction, conj_id: int) -> tuple[Flow, ...]:
        """The action flow and the metric flows of a conjunction."""
        action = builders.conjunction_action_flow(
            direction, conj_id, cookie=self._cookies(Category.POLICY_RULE, conj_id)
        )
        counters = metrics.rule_metric_flows(
            direction, conj_id, cookie=self._cookies(Category.POLICY_METRIC, conj_id)
        )
        return (action, *counters)

    # -- default isolation ---------------------------------------------------------------------

    def isolate(self, direction: Direction, pods: Iterable[int]) -> None:
        counts = self._isolated[direction]
        for pod in pods:
            counts[pod] = counts.get(pod, 0) + 1
            if counts[pod] == 1:
                self._isolation_dirty.add((direction, pod))

    def release(self, direction: Direction, pods: Iterable[int]) -> None:
        counts = self._isolated[direction]
        for pod in pods:
            counts[pod] -= 1
            if not counts[pod]:
                del counts[pod]
                self._isolation_dirty.add((direction, pod))

    # -- output --------------------------------------------------------------------------------

    def flush(self) -> FlowChange:
        change = FlowChange()
        for tables in (self.peers, self.pods, self.ports):
            for matches in tables.values():
                matches.flush(change.put, change.remove)
        for conj_id, direction in self._conjunctions_dirty.items():
            old = self._conjunctions.pop(conj_id, ())
            new = () if direction is None else self._conjunction_flows(direction, conj_id)
            if new:
                self._conjunctions[conj_id] = new
            change.put.extend(flow for flow in new if flow not in old)
            kept = {flow.key for flow in new}  # none when the id went to the other direction
            change.remove.extend(flow.key for flow in old if flow.key not in kept)
        self._conjunctions_dirty = {}
        for direction, pod in self._isolation_dirty:
            flow = builders.isolation_flow(direction, pod, cookie=self._isolation_cookie)
            if pod in self._isolated[direction]:
                change.put.append(flow)
            else:
                change.remove.append(flow.key)
        self._isolation_dirty = set()
        return change

    def flows(self) -> list[Flow]:
        """Every flow wanted now (after a `flush`)."""
        result = [
            flow
            for tables in (self.peers, self.pods, self.ports)
            for m in tables.values()
            for flow in m.flows()
        ]
        result.extend(flow for flows in self._conjunctions.values() for flow in flows)
        for direction, counts in self._isolated.items():
            result.extend(
                builders.isolation_flow(direction, pod, cookie=self._isolation_cookie) for pod in counts
            )
        return result

    def counts(self) -> dict[str, int]:
        """How many flows of each kind there are (after a `flush`)."""
        return {
            "peers": sum(len(m) for m in self.peers.values()),
            "pods": sum(len(m) for m in self.pods.values()),
            "ports": sum(len(m) for m in self.ports.values()),
            "conjunctions": len(self._conjunctions),
            "metrics": sum(len(flows) - 1 for flows in self._conjunctions.values()),
            "isolation": sum(len(c) for c in self._isolated.values()),
        }


def _peer_builder(direction: Direction) -> Callable[[PeerAddress], Match]:
    field = builders.PEER_FIELD[direction]
    masks = [mask_of(prefix) for prefix in range(33)]

    def build(peer: PeerAddress) -> Match:
        return _matches.ipv4_match(field, ip_of(peer), masks[prefix_of(peer)])

    return build


def _pod_builder(direction: Direction) -> Callable[[int], Match]:
    def build(pod: int) -> Match:
        return builders.pod_match(direction, pod)

    return build


def _port_match(port: PortMatch) -> Match:
    return builders.port_match(port.protocol, port.port, port.mask)
