"""Encoding alone: microseconds per flow mod (target: at most 2), in one bundle and one by one."""

import time

from bench.flows import conjunction_flows
from bench.targets import at_most
from fastpath import _messages as msg

N = 100_000
TARGET_US = 2.0


def _per_flow_us(benchmark, fn, n: int) -> float:
    if benchmark.stats:
        return benchmark.stats.stats.median / n * 1e6
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) / n * 1e6


def test_encode_bundle_of_100k_flow_mods(benchmark, figures):
    n = N if figures.timing else N // 100
    flows = conjunction_flows(n)
    data = benchmark(msg.encode_bundle_adds, flows, msg.ADD, 1, 1)
    assert len(data) > 100 * n
    us = _per_flow_us(benchmark, lambda: msg.encode_bundle_adds(flows, msg.ADD, 1, 1), n)
    figures.record(
        "us_per_flow_mod",
        round(us, 3),
        "us",
        "encoding a bundle of 100k flow mods, per flow",
        target=at_most(TARGET_US),
    )
    figures.check()


def test_encode_single_flow_mods(benchmark, figures):
    flows = conjunction_flows(10_000 if figures.timing else 100)

    def encode_each():
        return [msg.encode_flow_mod(flow, msg.ADD, i) for i, flow in enumerate(flows)]

    benchmark(encode_each)
    us = _per_flow_us(benchmark, encode_each, len(flows))
    figures.record(
        "us_per_flow_mod",
        round(us, 3),
        "us",
        "encoding flow mods one by one, per flow",
        target=at_most(TARGET_US),
    )
    figures.check()
