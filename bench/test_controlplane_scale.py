"""Initial computation at Antrea's scale (`networkpolicy_controller_perf_test.go` shapes), engine
only: the second row beside the end-to-end figure of `bench/test_controlplane_e2e.py`.

Each scenario hands every Namespace, Node, Pod and NetworkPolicy, already typed, to a fresh
engine, syncs once, versions the changes in a store, and computes every node's view of every
event (what a server dispatches to its watchers: each distinct view once, with the nodes that get
it). It runs in three fresh processes (`bench.isolated`): the best time, the highest peak RSS.
The garbage collector is set up as the controller sets it up for its initial sync
(`controlplane.gcsettings`): the inputs, like informer caches, are frozen before, and collection
is paused during, the computation.

Antrea's Go controller (`TestInitXLargeScale*`, on its CI machines): xlarge_small_namespaces
5.84-6.42 s and 1522-1708 MB; dense_one_namespace 10.66 s and 1157 MB. Its window starts at
informer start, as the end-to-end benchmark's does; this one starts from typed objects, so it
is not the comparable figure. The figures measured here are in `bench/results/`.

Run alone: `python -m bench.isolated bench.test_controlplane_scale:measure '["dense_one_namespace"]'`.
"""

from __future__ import annotations

import random
import string
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench import isolated
from bench.isolated import status_mb
from bench.targets import at_most
from controlplane import gcsettings
from controlplane.compute.engine import PolicyEngine
from controlplane.compute.inputs import Namespace, NetworkPolicy, Node, Pod, PodPhase, PolicyPeer, PolicyRule
from controlplane.compute.labels import EVERYTHING, LabelSelector, make_labels
from controlplane.store.versioned import Store
from pyantrea_api.objects import Direction

BOTH = frozenset((Direction.IN, Direction.OUT))


@dataclass(frozen=True, slots=True)
class Inputs:
    """Objects of one scenario, in the order informers would hand them over."""

    namespaces: list[Namespace]
    nodes: list[Node]
    pods: list[Pod]
    policies: list[NetworkPolicy]


def _name(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_lowercase + string.digits, k=8))


def _pod(rng: random.Random, namespace: str, name: str, labels: dict[str, str], nodes: int) -> Pod:
    ip = rng.getrandbits(32).to_bytes(4, "big")
    node = f"node-{rng.randrange(nodes)}"
    return Pod(namespace, name, make_labels(labels), node, False, PodPhase.RUNNING, (ip,), ())


def _policy(rng: random.Random, namespace: str, name: str, selector: dict[str, str] | None) -> NetworkPolicy:
    """Antrea's `newNetworkPolicy`: both policyTypes, one ingress rule from `selector` if given."""
    pod_selector = LabelSelector.from_match_labels(selector) if selector else EVERYTHING
    ingress = (PolicyRule((PolicyPeer(pod_selector, None, None),), ()),) if selector else ()
    uid = f"{_name(rng)}-{rng.getrandbits(64):016x}"
    return NetworkPolicy(namespace, name, uid, 1, pod_selector, BOTH, ingress, ())


def xlarge_small_namespaces(seed: int = 1, scale: float = 1.0) -> Inputs:
    """25k namespaces, each: 4 pods (two `app-1=scale-1`, two `app-2=scale-2`), a default-deny
    policy and two policies selecting `app-N=scale-N` with one ingress rule from the same.
    `scale` shrinks the namespaces and nodes (for smoke runs)."""
    rng = random.Random(seed)
    nodes = max(1, round(1000 * scale))
    namespaces, pods, policies = [], [], []
    for _ in range(max(1, round(25_000 * scale))):
        ns = _name(rng)
        namespaces.append(Namespace(ns, make_labels({"app": ns})))
        policies.append(_policy(rng, ns, "default-deny-all", None))
        for n in (1, 2):
            labels = {f"app-{n}": f"scale-{n}"}
            policies.append(_policy(rng, ns, f"np-{n}", labels))
            pods.extend(_pod(rng, ns, f"pod{2 * n - 1 + i}", labels, nodes) for i in range(2))
    return Inputs(namespaces, [Node(f"node-{i}") for i in range(nodes)], pods, policies)


def dense_one_namespace(seed: int = 1, scale: float = 1.0) -> Inputs:
    """1 namespace, 10k pods `app-1=scale-1`, 10k policies selecting them with ingress from them.
    `scale` shrinks the pods, policies and nodes (for smoke runs)."""
    rng = random.Random(seed)
    ns = _name(rng)
    labels = {"app-1": "scale-1"}
    count, node_count = max(1, round(10_000 * scale)), max(1, round(1000 * scale))
    pods = [_pod(rng, ns, f"pod-{_name(rng)}", labels, node_count) for _ in range(count)]
    policies = [_policy(rng, ns, f"np-{_name(rng)}", labels) for _ in range(count)]
    nodes = [Node(f"node-{i}") for i in range(node_count)]
    return Inputs([Namespace(ns, make_labels({"app": ns}))], nodes, pods, policies)


SCENARIOS: dict[str, Callable[..., Inputs]] = {
    "xlarge_small_namespaces": xlarge_small_namespaces,
    "dense_one_namespace": dense_one_namespace,
}


def compute(inputs: Inputs) -> tuple[int, int]:
    """Everything from the objects handed in to every node's view of every event.

    Returns (store events, node views).
    """
    with gcsettings.paused():
        return _compute(inputs)


def _compute(inputs: Inputs) -> tuple[int, int]:
    engine = PolicyEngine()
    store = Store()
    for namespace in inputs.namespaces:
        engine.upsert_namespace(namespace)
    for node in inputs.nodes:
        engine.upsert_node(node)
    for pod in inputs.pods:
        engine.upsert_pod(pod)
    for policy in inputs.policies:
        engine.upsert_policy(policy)
    events = store.apply(engine.sync())
    views = 0
    for event in events:
        for _, nodes in event.views():
            views += len(nodes)
    return len(events), views


def measure(scenario: str, scale: float = 1.0) -> dict[str, float]:
    """Builds the scenario, computes it once (run it in a fresh process: `bench.isolated`)."""
    inputs = SCENARIOS[scenario](scale=scale)
    gcsettings.freeze()
    inputs_mb = status_mb("VmRSS")
    start = time.perf_counter()
    events, views = compute(inputs)
    seconds = time.perf_counter() - start
    return {
        "seconds": round(seconds, 3),
        "inputs_rss_mb": round(inputs_mb, 1),
        "events": events,
        "node_views": views,
    }


TARGETS = {
    "xlarge_small_namespaces": (at_most(6.0), at_most(1200)),
    "dense_one_namespace": (at_most(8.0), at_most(1200)),
}
"""Seconds and peak MB: the end-to-end targets, which the engine alone must meet too."""

SMOKE_SCALE = {"xlarge_small_namespaces": 0.01, "dense_one_namespace": 0.05}
"""With `--benchmark-disable` (the test command) the scenarios run this small: a smoke run."""


def _bench(benchmark, figures, scenario: str) -> None:
    scale = 1.0 if figures.timing else SMOKE_SCALE[scenario]
    runs = 3 if figures.timing else 1

    def measure_runs() -> list[dict]:
        return [isolated.run("bench.test_controlplane_scale:measure", scenario, scale) for _ in range(runs)]

    all_runs = benchmark.pedantic(measure_runs, rounds=1, iterations=1)
    # The best time of three fresh processes (the machine is shared), the highest peak.
    own = min(all_runs, key=lambda run: run["seconds"])
    own["peak_rss_mb"] = max(run["peak_rss_mb"] for run in all_runs)
    seconds, megabytes = TARGETS[scenario]
    figures.record(
        "engine_seconds",
        own["seconds"],
        "s",
        f"`{scenario}` engine only: typed objects to node views",
        target=seconds,
    )
    figures.record(
        "peak_rss_mb",
        own["peak_rss_mb"],
        "MB",
        "peak RSS of a process building and computing it",
        target=megabytes,
    )
    figures.info(**{key: own[key] for key in ("events", "node_views", "inputs_rss_mb", "imports_rss_mb")})
    figures.check()


def test_xlarge_small_namespaces(benchmark, figures) -> None:
    _bench(benchmark, figures, "xlarge_small_namespaces")


def test_dense_one_namespace(benchmark, figures) -> None:
    _bench(benchmark, figures, "dense_one_namespace")
