"""Diff of 100k desired against 100k installed flows with 1% changed: the Cython engine against
the fastest plain-Python diff (`fastpath.diff_plain`: identities computed once, dictionary
lookups, same objects skipped), both timed in the same run. The clarity-first specification
(`fastpath.diff_reference`) is timed too, for the record.

Two shapes: `rebuilt` (every desired flow is a new object, as after recomputing a whole table)
and `shared` (unchanged flows are the same objects, as when the agent recomputes only the
changed rules). Target: the engine at least 10x the plain-Python diff.
"""

import random
import time

import pytest

from bench.flows import BASE_IP, conjunction_flows
from bench.targets import at_least
from fastpath import Flow, Match, diff_flows
from fastpath import actions as A
from fastpath.diff_plain import diff_flows_plain
from fastpath.diff_reference import diff_flows_reference

N = 100_000
CHANGED = N // 100
TARGET_SPEEDUP = 10.0


def _best_of(fn, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _desired(installed: list[Flow], rebuilt: bool, n: int = N) -> list[Flow]:
    desired = conjunction_flows(n) if rebuilt else list(installed)
    for i in random.Random(7).sample(range(n), n // 100):
        desired[i] = Flow(90, 200, Match(ip=True, nw_src=BASE_IP + i), [A.Conjunction(99_999, 1, 2)], 0x1000)
    return desired


@pytest.mark.parametrize("shape", ["rebuilt", "shared"])
def test_diff_100k_one_percent_changed(benchmark, figures, shape):
    n = N if figures.timing else N // 100
    installed = conjunction_flows(n)
    desired = _desired(installed, rebuilt=shape == "rebuilt", n=n)

    result = benchmark(diff_flows, desired, installed)

    assert [len(part) for part in result] == [0, n // 100, 0]
    assert result == diff_flows_reference(desired, installed) == diff_flows_plain(desired, installed)
    rounds = 5 if figures.timing else 1
    cython_s = _best_of(lambda: diff_flows(desired, installed), rounds)
    plain_s = _best_of(lambda: diff_flows_plain(desired, installed), rounds)
    reference_s = _best_of(lambda: diff_flows_reference(desired, installed), rounds)
    figures.record(
        "speedup_vs_plain",
        round(plain_s / cython_s, 1),
        "x",
        f"diff of 100k vs 100k flows, 1% changed ({shape}): Cython "
        f"{cython_s * 1e3:.1f} ms vs fastest plain Python {plain_s * 1e3:.1f} ms",
        target=at_least(TARGET_SPEEDUP),
    )
    figures.info(
        cython_ms=round(cython_s * 1e3, 2),
        plain_ms=round(plain_s * 1e3, 2),
        reference_ms=round(reference_s * 1e3, 2),
        speedup_vs_reference=round(reference_s / cython_s, 1),
    )
    figures.check()
