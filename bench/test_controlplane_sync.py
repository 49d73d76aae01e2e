"""`syncAddressGroup` at Antrea's `BenchmarkSyncAddressGroup` shape: one AddressGroup that 1,000
policies use (1,000 policies selecting `app-1=scale-1` with an ingress rule from the same
selector) and 1,000 such pods, one per node, so the group has 1,000 members and spans 1,000
nodes.

Two figures, because pyantrea's engine is incremental where Antrea's controller is not:

* full: what Antrea's benchmark times. The engine recomputes the whole group from scratch (all
  1,000 members from the grouping index, its span from the AppliedToGroups its policies use) and
  the store compares it with the group it holds, sending an event only on a difference (none
  here, as in Antrea's loop). Antrea's Go controller: 326 us; target <= 150 us.
* incremental: what the controller really does on a pod event. One member added to and removed
  from the group: the pod event, the engine sync turning it into member patches (the pod also
  joins the AppliedToGroup of the same selector, so two patches) and the store versioning them.
  Target <= 300 us per change, and the memory an event keeps independent of the span (reported
  for spans of 10 and 1,000 nodes).

Memory is the peak RSS of a fresh process that built the scenario and ran the changes
(`bench.isolated`). `python -m bench.isolated bench.test_controlplane_sync:measure '[2000]'`
prints the figures.
"""

from __future__ import annotations

import itertools
import time
import tracemalloc
from collections.abc import Callable

from bench import isolated
from bench.targets import at_most
from controlplane.compute.engine import PolicyEngine
from controlplane.compute.inputs import Namespace, NetworkPolicy, Node, Pod, PodPhase, PolicyPeer, PolicyRule
from controlplane.compute.labels import LabelSelector, make_labels
from controlplane.store.events import StoreEvent
from controlplane.store.versioned import Store
from pyantrea_api.objects import Direction

LABELS = {"app-1": "scale-1"}
SELECTOR = LabelSelector.from_match_labels(LABELS)
RULE = PolicyRule((PolicyPeer(SELECTOR, None, None),), ())
BOTH = frozenset((Direction.IN, Direction.OUT))
ANTREA_FULL_US = 326
TARGET_FULL_US, TARGET_CHANGE_US = 150, 300


def _pod(name: str, node: int, ip: int) -> Pod:
    return Pod(
        "default",
        name,
        make_labels(LABELS),
        f"node-{node}",
        False,
        PodPhase.RUNNING,
        (ip.to_bytes(4, "big"),),
        (),
    )


def scenario(
    nodes: int,
) -> tuple[PolicyEngine, Store, Callable[[], list[StoreEvent]], Callable[[], list[StoreEvent]]]:
    """A synced engine and store at this scale, and the two changes (add, remove one member)."""
    engine, store = PolicyEngine(), Store()
    engine.upsert_namespace(Namespace("default", ()))
    for i in range(nodes):
        engine.upsert_node(Node(f"node-{i}"))
    for i in range(1000):
        engine.upsert_pod(_pod(f"pod-{i}", i % nodes, 0x0A000000 + i))
        engine.upsert_policy(NetworkPolicy("default", f"np-{i}", f"uid-{i}", 1, SELECTOR, BOTH, (RULE,), ()))
    store.apply(engine.sync())
    extra = _pod("extra", 0, 0x0B000001)

    def add() -> list[StoreEvent]:
        engine.upsert_pod(extra)
        return store.apply(engine.sync())

    def remove() -> list[StoreEvent]:
        engine.delete_pod("default", "extra")
        return store.apply(engine.sync())

    return engine, store, add, remove


def full_sync(engine: PolicyEngine, store: Store) -> Callable[[], list[StoreEvent]]:
    """Antrea's `syncAddressGroup` of the scenario's one AddressGroup."""
    (name,) = store.address_groups()

    def sync() -> list[StoreEvent]:
        full = engine.full_address_group(name)
        assert full is not None
        return store.sync_address_group(*full)

    return sync


def event_bytes(nodes: int) -> int:
    """Bytes kept alive by the events of one change, at a span of `nodes` nodes."""
    _, _, add, remove = scenario(nodes)
    add()
    remove()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    events = add()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    assert all(e.prev_span is e.span for e in events)
    return sum(stat.size_diff for stat in after.compare_to(before, "filename"))


def measure(rounds: int) -> dict[str, float]:
    """Both syncs timed `rounds` times each in this process, and the event sizes."""
    engine, store, add, remove = scenario(1000)
    start = time.perf_counter()
    for _ in range(rounds):
        add()
        remove()
    change_s = (time.perf_counter() - start) / (2 * rounds)
    sync = full_sync(engine, store)
    start = time.perf_counter()
    for _ in range(rounds):
        assert not sync()
    full_s = (time.perf_counter() - start) / rounds
    return {
        "us_per_change": round(change_s * 1e6, 1),
        "us_per_full_sync": round(full_s * 1e6, 1),
        "event_bytes_span_10": event_bytes(10),
        "event_bytes_span_1000": event_bytes(1000),
    }


def _in_own_process(figures) -> dict[str, float]:
    return isolated.run("bench.test_controlplane_sync:measure", 2000 if figures.timing else 2)


def test_sync_address_group_full(benchmark, figures) -> None:
    engine, store, _, _ = scenario(1000)
    events = benchmark(full_sync(engine, store))
    assert events == []
    own = _in_own_process(figures)
    us = benchmark.stats.stats.median * 1e6 if figures.timing else own["us_per_full_sync"]
    figures.record(
        "full_sync_us",
        round(us, 1),
        "us",
        "full `syncAddressGroup`: 1,000 members, 1,000 policies, span 1,000 nodes "
        f"(Antrea {ANTREA_FULL_US} us)",
        target=at_most(TARGET_FULL_US),
    )
    figures.record("peak_rss_mb", own["peak_rss_mb"], "MB", "peak RSS of a process building and syncing it")
    figures.info(antrea_us=ANTREA_FULL_US, ratio_vs_antrea=round(ANTREA_FULL_US / us, 2))
    figures.check()


def test_sync_address_group_incremental(benchmark, figures) -> None:
    _, _, add, remove = scenario(1000)
    changes = itertools.cycle((add, remove))

    def change() -> None:
        next(changes)()

    benchmark(change)
    own = _in_own_process(figures)
    us = benchmark.stats.stats.median * 1e6 if figures.timing else own["us_per_change"]
    figures.record(
        "change_us",
        round(us, 1),
        "us",
        "one member added to (or removed from) that group: pod event to store events",
        target=at_most(TARGET_CHANGE_US),
    )
    # An event keeps its patch, not a copy of the span: the same size at spans of 10 and 1,000.
    figures.record(
        "event_bytes_span_10", own["event_bytes_span_10"], "B", "memory one change's events keep, span 10"
    )
    figures.record(
        "event_bytes_span_1000",
        own["event_bytes_span_1000"],
        "B",
        "memory one change's events keep, span 1,000",
        target=at_most(own["event_bytes_span_10"] * 1.25),
    )
    figures.record("peak_rss_mb", own["peak_rss_mb"], "MB", "peak RSS of a process building and changing it")
    figures.check()
