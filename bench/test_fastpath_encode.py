"""Encoding alone: microseconds per flow mod (target: at most 2)."""

from bench.flows import conjunction_flows
from fastpath import _messages as msg

N = 100_000


def test_encode_bundle_of_100k_flow_mods(benchmark):
    flows = conjunction_flows(N)
    data = benchmark(msg.encode_bundle_adds, flows, msg.ADD, 1, 1)
    assert len(data) > 100 * N
    per_flow_us = benchmark.stats.stats.min / N * 1e6 if benchmark.stats else None
    if per_flow_us is not None:
        benchmark.extra_info["us_per_flow_mod"] = round(per_flow_us, 3)
        print(f"\nencode: {per_flow_us:.3f} us per flow mod (target <= 2)")


def test_encode_single_flow_mods(benchmark):
    flows = conjunction_flows(10_000)

    def encode_each():
        return [msg.encode_flow_mod(flow, msg.ADD, i) for i, flow in enumerate(flows)]

    benchmark(encode_each)
    if benchmark.stats:
        per_flow_us = benchmark.stats.stats.min / len(flows) * 1e6
        benchmark.extra_info["us_per_flow_mod"] = round(per_flow_us, 3)
        print(f"\nencode one by one: {per_flow_us:.3f} us per flow mod (target <= 2)")
