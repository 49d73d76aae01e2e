"""Diff of 100k desired against 100k installed flows with 1% changed: Cython engine vs reference.

Two shapes: `rebuilt` (every desired flow is a new object, as after recomputing a whole table)
and `shared` (unchanged flows are the same objects, as when the agent recomputes only the
changed rules). The reference is timed in the same run; the speed-up is in extra_info.
"""

import random
import time

import pytest

from bench.flows import BASE_IP, conjunction_flows
from fastpath import Flow, Match, diff_flows
from fastpath import actions as A
from fastpath.diff_reference import diff_flows_reference

N = 100_000
CHANGED = N // 100


def _best_of(fn, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _desired(installed: list[Flow], rebuilt: bool) -> list[Flow]:
    desired = conjunction_flows(N) if rebuilt else list(installed)
    for i in random.Random(7).sample(range(N), CHANGED):
        desired[i] = Flow(90, 200, Match(ip=True, nw_src=BASE_IP + i), [A.Conjunction(99_999, 1, 2)], 0x1000)
    return desired


@pytest.mark.parametrize("shape", ["rebuilt", "shared"])
def test_diff_100k_one_percent_changed(benchmark, shape):
    installed = conjunction_flows(N)
    desired = _desired(installed, rebuilt=shape == "rebuilt")

    result = benchmark(diff_flows, desired, installed)

    assert [len(part) for part in result] == [0, CHANGED, 0]
    assert result == diff_flows_reference(desired, installed)
    cython_s = _best_of(lambda: diff_flows(desired, installed))
    reference_s = _best_of(lambda: diff_flows_reference(desired, installed))
    benchmark.extra_info.update(
        cython_ms=round(cython_s * 1e3, 2),
        reference_ms=round(reference_s * 1e3, 2),
        speedup=round(reference_s / cython_s, 1),
    )
    print(
        f"\ndiff {shape}: cython {cython_s * 1e3:.1f} ms, reference {reference_s * 1e3:.1f} ms, "
        f"speed-up {reference_s / cython_s:.1f}x (target >= 10x)"
    )
