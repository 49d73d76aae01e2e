"""A small evaluator of the proxy's tables (32-35), independent of how they were computed.

It walks flows as Open vSwitch would for one packet: the highest-priority matching flow of a
table, its actions in order, table misses to the next table, `group:` forking over every bucket
of a select group. It returns every place the packet can end up: DNAT to an endpoint (with the
ct_mark committed), rejected (sent to the controller), or passed on (no Service matched).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastpath import Flow, Group
from fastpath import actions as A
from fastpath.fields import FIELDS

# What a miss does in each table (agent.openflow.pipeline): resubmit to these, in order.
MISSES = {32: (33, 34), 33: (), 34: (35,), 35: (40,)}


@dataclass(frozen=True)
class Outcome:
    kind: str  # "dnat", "reject", "pass"
    ip: int = 0
    port: int = 0
    mark: int = 0


class AmbiguousFlows(AssertionError):
    """Two flows of one priority match one packet: Open vSwitch would pick either."""


def _matches(flow: Flow, packet: dict[str, int]) -> bool:
    e = flow.match.entries
    for i in range(0, len(e), 3):
        name = FIELDS[e[i]].name
        value, mask = e[i + 1], e[i + 2]
        have = packet.get(name, 0)
        if mask is None:
            if have != value:
                return False
        elif have & mask != value:
            return False
    return True


class Datapath:
    def __init__(self, flows: list[Flow], groups: list[Group]) -> None:
        self.tables: dict[int, list[Flow]] = {}
        for flow in flows:
            self.tables.setdefault(flow.table, []).append(flow)
        self.groups = {g.group_id: g for g in groups}
        self.learned: list[Flow] = []

    def lookup(self, table: int, packet: dict[str, int]) -> Flow | None:
        found = [f for f in self.tables.get(table, ()) if _matches(f, packet)]
        if not found:
            return None
        best = max(f.priority for f in found)
        top = [f for f in found if f.priority == best]
        if len(top) > 1:
            raise AmbiguousFlows(f"table {table}: {top}")
        return top[0]

    def run(self, packet: dict[str, int], table: int = 32, depth: int = 0) -> set[Outcome]:
        """Every outcome of `packet` entering `table`; registers it writes stay written in
        `packet`, as after an Open vSwitch resubmit."""
        if depth > 20:
            raise AssertionError("resubmit loop")
        if table == 40:
            return {Outcome("pass")}
        flow = self.lookup(table, packet)
        if flow is None:
            actions: list = [A.Resubmit(t) for t in MISSES[table]]
        else:
            actions = list(flow.actions)
        return self._actions(actions, packet, depth)

    def _actions(self, actions: list, packet: dict[str, int], depth: int) -> set[Outcome]:
        outcomes: set[Outcome] = set()
        for action in actions:
            if isinstance(action, A.SetField):
                mask = action.mask if action.mask is not None else (1 << 128) - 1
                packet[action.field] = (packet.get(action.field, 0) & ~mask) | action.value
            elif isinstance(action, A.Resubmit):
                outcomes |= self.run(packet, action.table, depth + 1)
            elif isinstance(action, A.Group):
                group = self.groups.get(action.group_id)
                if group is None:
                    raise AssertionError(f"group {action.group_id} is not installed")
                for bucket in group.buckets:
                    outcomes |= self._actions(list(bucket.actions), dict(packet), depth + 1)
            elif isinstance(action, A.Output) and action.port == 0xFFFFFFFD:
                outcomes.add(Outcome("reject"))
            elif isinstance(action, A.Ct):
                nat = action.nat
                assert action.commit and nat is not None and nat.kind == "dst", action
                mark = action.actions[0].value if action.actions else 0
                outcomes.add(Outcome("dnat", nat.ip_min, nat.port_min, mark))
            elif isinstance(action, A.Learn):
                self.learned.append(_learned(action, packet))
            else:
                raise AssertionError(f"unexpected action {action}")
        return outcomes

    def learn(self) -> None:
        """Install the flows learned so far (Open vSwitch adds them as the packet goes)."""
        for flow in self.learned:
            self.tables.setdefault(flow.table, []).append(flow)
        self.learned = []


def _learned(learn: A.Learn, packet: dict[str, int]) -> Flow:
    from fastpath import Match

    fields: dict[str, object] = {}
    loads = []
    for spec in learn.specs:
        if spec.kind == "match":
            value = spec.value if spec.value is not None else packet.get(spec.src, 0)
            fields[spec.dst] = value
        else:
            width = (1 << spec.n_bits) - 1
            value = (
                spec.value if spec.value is not None else (packet.get(spec.src, 0) >> spec.src_start) & width
            )
            loads.append(A.load(spec.dst, value, spec.dst_start, spec.dst_start + spec.n_bits - 1))
    return Flow(learn.table, learn.priority, Match.from_fields(fields), loads, learn.cookie)
