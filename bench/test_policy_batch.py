"""Policy flows computed from the final state in one batch: 100 rules x 500 peer addresses.

Antrea's `BenchmarkBatchInstallPolicyRuleFlows` shape (#2479): 100 ingress rules, each with 500
peers, 250 its own and 250 shared by every rule, here as two AddressGroups per rule (its own and
the shared one) with one TCP port each, applied to 10 pods of this node. One round is what the
agent does with its initial state: the rule cache takes the snapshot (`on_replace`), and the
reconciler computes every flow (25,250 peer flows, the shared 250 carrying 100 conjunction()
actions each, plus pods, ports, action and metric flows). Antrea's Go agent: 169 ms and 56 MB allocated
per batch; target here: <= 150 ms and <= 60 MB peak. Also reported: the reconciler alone (the
rule cache already built), and the peak memory traced and the RSS growth of a process doing
just one batch.

Run alone: `python -m bench.test_policy_batch` prints the figures.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

from agent.openflow.cookies import Cookies
from agent.policy.allocator import ConjIdAllocator
from agent.policy.cache import LocalPod, RuleCache
from agent.policy.flowtable import FlowChange
from agent.policy.reconciler import Reconciler
from agent.policy.store import PolicySnapshot, StateSource
from pyantrea_api.objects import (
    AddressGroup,
    AppliedToGroup,
    Direction,
    GroupMember,
    InternalNetworkPolicy,
    Peer,
    PolicyReference,
    Protocol,
    Rule,
    Service,
)

ROOT = Path(__file__).resolve().parent.parent
RULES, UNIQUE, SHARED, LOCAL_PODS = 100, 250, 250, 10
ANTREA_MS, ANTREA_MB = 169, 56
TARGET_MS, TARGET_MB = 150, 60


def _member(name: str, ip: int, node: str) -> GroupMember:
    return GroupMember("bench", name, (ip.to_bytes(4, "big"),), (), node)


def scenario() -> tuple[PolicySnapshot, dict[tuple[str, str], LocalPod]]:
    shared = AddressGroup("shared", tuple(_member(f"s{i}", 0x0A000000 + i, "n2") for i in range(SHARED)))
    groups = {"shared": shared}
    policies = {}
    local = tuple(_member(f"local{j}", 0xAC100102 + j, "n1") for j in range(LOCAL_PODS))
    for r in range(RULES):
        base = 0x0B000000 + r * UNIQUE
        groups[f"ag{r}"] = AddressGroup(
            f"ag{r}", tuple(_member(f"u{r}-{i}", base + i, "n2") for i in range(UNIQUE))
        )
        rule = Rule(Direction.IN, Peer((f"ag{r}", "shared"), ()), (Service(Protocol.TCP, 8000 + r, None),))
        reference = PolicyReference("bench", f"np{r}", f"uid{r}")
        policies[f"uid{r}"] = InternalNetworkPolicy(f"uid{r}", reference, 1, (rule,), ("atg",))
    pods = {m.key: LocalPod(f"c{j}", 10 + j, int.from_bytes(m.ips[0], "big")) for j, m in enumerate(local)}
    return PolicySnapshot(policies, groups, {"atg": AppliedToGroup("atg", local)}), pods


def cache_of(pods: dict[tuple[str, str], LocalPod]) -> RuleCache:
    cache = RuleCache()
    for key, pod in pods.items():
        cache.set_local_pod(key, pod)
    cache.take_dirty()
    return cache


def batch(snapshot: PolicySnapshot, pods: dict[tuple[str, str], LocalPod]) -> FlowChange:
    """The whole batch: the rule cache takes the state, the reconciler computes the flows."""
    cache = cache_of(pods)
    cache.on_replace(snapshot, StateSource.CONTROLLER)
    return Reconciler(cache, Cookies(1), ConjIdAllocator()).reconcile(cache.take_dirty())


def measure() -> dict[str, float]:
    """Figures from this process: peak traced memory of one batch, then timings."""
    snapshot, pods = scenario()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    change = batch(snapshot, pods)  # warm-up, and the RSS growth of one batch
    rss_growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    flows = len(change.put)
    del change
    tracemalloc.start()
    change = batch(snapshot, pods)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del change
    totals, reconciles = [], []
    for _ in range(7):
        start = time.perf_counter()
        batch(snapshot, pods)
        totals.append(time.perf_counter() - start)
        cache = cache_of(pods)
        cache.on_replace(snapshot, StateSource.CONTROLLER)
        dirty = cache.take_dirty()
        start = time.perf_counter()
        Reconciler(cache, Cookies(1), ConjIdAllocator()).reconcile(dirty)
        reconciles.append(time.perf_counter() - start)
    best_ms = min(totals) * 1000
    peak_mb = peak / 1e6
    return {
        "flows": flows,
        "batch_ms_min": round(best_ms, 1),
        "batch_ms_median": round(sorted(totals)[len(totals) // 2] * 1000, 1),
        "reconcile_only_ms_min": round(min(reconciles) * 1000, 1),
        "peak_traced_mb": round(peak_mb, 1),
        "rss_growth_mb": round(rss_growth, 1),
        "target_ms": TARGET_MS,
        "target_mb": TARGET_MB,
        "within_targets": best_ms <= TARGET_MS and peak_mb <= TARGET_MB,
        "ratio_vs_antrea_time": round(ANTREA_MS / best_ms, 2),
        "ratio_vs_antrea_memory": round(ANTREA_MB / peak_mb, 2),
    }


def test_batch_install_100_rules_500_peers(benchmark) -> None:
    # Memory and timings from a process of its own, so nothing else the suite did counts.
    output = subprocess.run(
        [sys.executable, "-m", "bench.test_policy_batch"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures = json.loads(output)
    benchmark.extra_info.update(figures)
    print(f"\npolicy batch: {figures}")
    snapshot, pods = scenario()
    change = benchmark.pedantic(batch, args=(snapshot, pods), rounds=5, warmup_rounds=1)
    # peer flows (own and shared), pod and isolation flows; per rule a port, an action flow and
    # three metric flows
    assert len(change.put) == figures["flows"] == RULES * UNIQUE + SHARED + 2 * LOCAL_PODS + 5 * RULES


if __name__ == "__main__":
    print(json.dumps(measure()))
