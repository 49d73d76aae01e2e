"""The plugin process answering VERSION, end to end as a runtime execs it: target p50 <= 60 ms.

A bare interpreter of the same virtual environment (`python -c pass`) is timed in the same run
for reference; p50 and p99 of both are in extra_info.
"""

import subprocess
import sys
import time

from bench.percentiles import percentile_ms
from pyantrea_testing.cniruntime import PLUGIN

ROUNDS = 100
TARGET_MS = 60
ENV = {"CNI_COMMAND": "VERSION", "PATH": "/usr/bin:/bin"}


def _timed(argv, samples):
    start = time.perf_counter()
    done = subprocess.run(argv, input=b'{"cniVersion":"1.0.0"}', env=ENV, capture_output=True, check=False)
    samples.append(time.perf_counter() - start)
    assert done.returncode == 0, done.stderr


def test_version_process(benchmark):
    plugin, bare = [], []
    rounds = ROUNDS if benchmark.enabled else 1
    benchmark.pedantic(_timed, args=([str(PLUGIN)], plugin), rounds=rounds)
    for _ in range(rounds):
        _timed([sys.executable, "-c", "pass"], bare)
    p50, p99 = percentile_ms(plugin, 50), percentile_ms(plugin, 99)
    benchmark.extra_info.update(
        p50_ms=round(p50, 1),
        p99_ms=round(p99, 1),
        bare_interpreter_p50_ms=round(percentile_ms(bare, 50), 1),
        bare_interpreter_p99_ms=round(percentile_ms(bare, 99), 1),
        target_p50_ms=TARGET_MS,
    )
    print(
        f"\nVERSION: p50 {p50:.1f} ms, p99 {p99:.1f} ms (target p50 <= {TARGET_MS} ms); "
        f"bare interpreter p50 {percentile_ms(bare, 50):.1f} ms"
    )
