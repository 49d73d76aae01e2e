"""Initial computation at Antrea's scale (`networkpolicy_controller_perf_test.go` shapes).

Each scenario hands every Namespace, Node, Pod and NetworkPolicy to a fresh engine, syncs once,
versions the changes in a store, and computes every node's view of every event (what a server
dispatches to its watchers: each distinct view once, with the nodes that get it). Peak RSS is
measured in a subprocess of its own, so scenarios do not pollute each other. The garbage
collector is set up as the controller sets it up for its initial sync (`controlplane.gcsettings`):
the inputs, like informer caches, are frozen before, and collection is paused during, the
computation.

Reference (Antrea's Go controller on its CI machines) and measured here (2 cores shared with
other work, Python 3.11, several runs with nothing else running):

| scenario                | Antrea time | Antrea memory | target           | measured here          |
| ----------------------- | ----------- | ------------- | ---------------- | ---------------------- |
| xlarge_small_namespaces | 5.84-6.42 s | 1522-1708 MB  | <= 6 s, 1.6 GB   | 3.9-4.9 s, 594 MB peak |
| dense_one_namespace     | 10.66 s     | 1157 MB       | <= 10 s, 1.2 GB  | 0.23-0.25 s, 50 MB     |

While other test suites run on the same two cores, the times roughly double (xlarge up to 9.6 s).

With CPython's default collector settings (no `gcsettings`) xlarge takes about 16 s.

Run alone: `python -m bench.test_controlplane_scale xlarge_small_namespaces` prints the figures.
"""

from __future__ import annotations

import gc
import json
import random
import resource
import string
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from controlplane import gcsettings
from controlplane.compute.engine import PolicyEngine
from controlplane.compute.inputs import Namespace, NetworkPolicy, Node, Pod, PodPhase, PolicyPeer, PolicyRule
from controlplane.compute.labels import EVERYTHING, LabelSelector, make_labels
from controlplane.store.versioned import Store
from pyantrea_api.objects import Direction

ROOT = Path(__file__).resolve().parent.parent
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


def xlarge_small_namespaces(seed: int = 1) -> Inputs:
    """25k namespaces, each: 4 pods (two `app-1=scale-1`, two `app-2=scale-2`), a default-deny
    policy and two policies selecting `app-N=scale-N` with one ingress rule from the same."""
    rng = random.Random(seed)
    namespaces, pods, policies = [], [], []
    for _ in range(25_000):
        ns = _name(rng)
        namespaces.append(Namespace(ns, make_labels({"app": ns})))
        policies.append(_policy(rng, ns, "default-deny-all", None))
        for n in (1, 2):
            labels = {f"app-{n}": f"scale-{n}"}
            policies.append(_policy(rng, ns, f"np-{n}", labels))
            pods.extend(_pod(rng, ns, f"pod{2 * n - 1 + i}", labels, 1000) for i in range(2))
    return Inputs(namespaces, [Node(f"node-{i}") for i in range(1000)], pods, policies)


def dense_one_namespace(seed: int = 1) -> Inputs:
    """1 namespace, 10k pods `app-1=scale-1`, 10k policies selecting them with ingress from them."""
    rng = random.Random(seed)
    ns = _name(rng)
    labels = {"app-1": "scale-1"}
    pods = [_pod(rng, ns, f"pod-{_name(rng)}", labels, 1000) for _ in range(10_000)]
    policies = [_policy(rng, ns, f"np-{_name(rng)}", labels) for _ in range(10_000)]
    nodes = [Node(f"node-{i}") for i in range(1000)]
    return Inputs([Namespace(ns, make_labels({"app": ns}))], nodes, pods, policies)


SCENARIOS: dict[str, Callable[[], Inputs]] = {
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


def measure(scenario: str) -> dict[str, float]:
    """Builds the scenario, computes it once; time and peak RSS of this process."""
    inputs = SCENARIOS[scenario]()
    gcsettings.freeze()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    events, views = compute(inputs)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(peak / 1024, 1),
        "inputs_rss_mb": round(before / 1024, 1),
        "events": events,
        "node_views": views,
    }


def _measure_in_subprocess(scenario: str) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, "-m", "bench.test_controlplane_scale", scenario],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output)


def _bench(benchmark, scenario: str) -> None:
    benchmark.extra_info.update(_measure_in_subprocess(scenario))
    inputs = SCENARIOS[scenario]()
    gcsettings.freeze()
    try:
        events, _ = benchmark.pedantic(compute, args=(inputs,), rounds=1, iterations=1)
    finally:
        gc.unfreeze()
    assert events == benchmark.extra_info["events"]


def test_xlarge_small_namespaces(benchmark) -> None:
    _bench(benchmark, "xlarge_small_namespaces")


def test_dense_one_namespace(benchmark) -> None:
    _bench(benchmark, "dense_one_namespace")


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1])))
