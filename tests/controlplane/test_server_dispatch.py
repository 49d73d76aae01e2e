"""The dispatcher end to end without a network: store events in, each node's framed messages
out, decoded and applied by the agent's `PolicyStore` as the client does.

For any sequence of cluster states (the engine's own property-test strategy), every node's
state built from its initial events plus every later message equals the store's snapshot of
that node, and so does a watch started afresh at each step (which exercises the encoder's
shared initial events and their invalidation).
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.policy.store import InitialEvents, PolicySnapshot, PolicyStore, StateSource
from controlplane.compute.engine import PolicyEngine
from controlplane.metrics import ControllerMetrics
from controlplane.server.framing import messages
from controlplane.server.watchers import Dispatcher, Watcher
from controlplane.store.versioned import Snapshot, Store
from proto.controlplane.v1beta1 import controlplane_pb2 as pb
from pyantrea_api.convert import event_from_proto
from pyantrea_api.events import EventType
from pyantrea_daemon.metrics import Metrics
from tests.controlplane.test_properties import ALL_NODES, Key, send, states


def decode(data: bytes) -> list[pb.Event]:
    return list(pb.WatchBatch.FromString(data).events)


def initial_state(chunks: list[bytes], version: int) -> PolicyStore:
    """What an agent builds from a watch's initial messages (split small to cross message edges)."""
    events = [event for message in messages(chunks, max_bytes=300) for event in decode(message)]
    assert events[-1].type == pb.INITIAL_EVENTS_END and events[-1].resource_version == version
    initial = InitialEvents()
    for message in events[:-1]:
        event = event_from_proto(message)
        assert event.type is EventType.ADDED and event.resource_version == 0
        initial.add(event)
    state = PolicyStore()
    state.replace(initial.snapshot(), StateSource.CONTROLLER)
    return state


async def drain(watcher: Watcher, state: PolicyStore) -> None:
    while watcher.queued:
        message, count = await watcher.next_message(max_bytes=500)
        events = decode(message)
        assert len(events) == count
        state.apply([event_from_proto(event) for event in events])


def comparable(snapshot: PolicySnapshot | Snapshot) -> tuple[Any, ...]:
    if isinstance(snapshot, Snapshot):
        policies = {p.name: p for p in snapshot.policies}
        address = {g.name: frozenset(g.members) for g in snapshot.address_groups}
        applied = {g.name: frozenset(g.members) for g in snapshot.applied_to_groups}
    else:
        policies = dict(snapshot.policies)
        address = {name: frozenset(g.members) for name, g in snapshot.address_groups.items()}
        applied = {name: frozenset(g.members) for name, g in snapshot.applied_to_groups.items()}
    return policies, address, applied


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_every_node_rebuilds_its_snapshot_from_the_dispatched_bytes(data: st.DataObject) -> None:
    sequence = data.draw(st.lists(states(), min_size=1, max_size=4), label="states")
    watched = data.draw(st.sets(st.sampled_from(ALL_NODES), min_size=1), label="watched nodes")

    async def scenario() -> None:
        engine, store = PolicyEngine(), Store()
        dispatcher = Dispatcher(store, capacity=1_000_000, metrics=ControllerMetrics.declare(Metrics("c")))
        agents: dict[str, tuple[Watcher, PolicyStore]] = {}
        for node in sorted(watched):
            watcher, initial = dispatcher.watch(node, "test")
            agents[node] = (watcher, initial_state(initial, store.resource_version))
        current: dict[Key, Any] = {}
        for state in sequence:
            changes = [
                (k, state.get(k)) for k in sorted(set(current) | set(state)) if current.get(k) != state.get(k)
            ]
            for key, value in data.draw(st.permutations(changes), label="order"):
                send(engine, key, value)
            current = dict(state)
            store.apply(engine.sync())
            for node, (watcher, agent_state) in agents.items():
                await drain(watcher, agent_state)
                expected = comparable(store.snapshot(node))
                assert comparable(agent_state.snapshot()) == expected, node
                fresh_watcher, initial = dispatcher.watch(node, "fresh")
                dispatcher.remove(fresh_watcher)
                assert comparable(initial_state(initial, store.resource_version).snapshot()) == expected, node
        dispatcher.close()

    asyncio.run(scenario())
