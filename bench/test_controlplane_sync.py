"""`sync_address_group`: one member added to and removed from an AddressGroup that 1,000 policies
use and 1,000 nodes need (Antrea's `BenchmarkSyncAddressGroup` shape: 1,000 policies selecting
`app-1=scale-1` with an ingress rule from the same selector, 1,000 such pods, one per node).

One change is a pod event, the engine sync that turns it into member patches, and the store
versioning them into events; the pod also joins the AppliedToGroup (same selector), so each
change is two patches. Antrea's Go controller: 326 us per sync; target here: <= 300 us per
change, and the memory an event keeps independent of the span size (reported for spans of 10
and 1,000 nodes). Measured here: 17-25 us per change; the events of one change keep about 2 KB
alive at a span of 10 nodes and at a span of 1,000 nodes alike.

Run alone: `python -m bench.test_controlplane_sync` prints the figures.
"""

from __future__ import annotations

import itertools
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from controlplane.compute.engine import PolicyEngine
from controlplane.compute.inputs import Namespace, NetworkPolicy, Node, Pod, PodPhase, PolicyPeer, PolicyRule
from controlplane.compute.labels import LabelSelector, make_labels
from controlplane.store.events import StoreEvent
from controlplane.store.versioned import Store
from pyantrea_api.objects import Direction

ROOT = Path(__file__).resolve().parent.parent
LABELS = {"app-1": "scale-1"}
SELECTOR = LabelSelector.from_match_labels(LABELS)
RULE = PolicyRule((PolicyPeer(SELECTOR, None, None),), ())
BOTH = frozenset((Direction.IN, Direction.OUT))


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


def measure() -> dict[str, float]:
    _, _, add, remove = scenario(1000)
    rounds = 2000
    start = time.perf_counter()
    for _ in range(rounds):
        add()
        remove()
    seconds = time.perf_counter() - start
    return {
        "us_per_change": round(seconds / (2 * rounds) * 1e6, 1),
        "event_bytes_span_10": event_bytes(10),
        "event_bytes_span_1000": event_bytes(1000),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def test_sync_address_group(benchmark) -> None:
    # Peak RSS and event sizes from a process of its own.
    output = subprocess.run(
        [sys.executable, "-m", "bench.test_controlplane_sync"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    benchmark.extra_info.update(json.loads(output))
    _, _, add, remove = scenario(1000)
    changes = itertools.cycle((add, remove))

    def change() -> None:
        next(changes)()

    benchmark(change)


if __name__ == "__main__":
    print(json.dumps(measure()))
