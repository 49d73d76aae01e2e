"""The plugin process answering VERSION, end to end as a runtime execs it: target p50 <= 60 ms.

A bare interpreter of the same virtual environment (`python -c pass`) is timed in the same run
for reference; p50 and p99 of both are in extra_info.
"""

import statistics
import subprocess
import sys
import time

from tests.cni.runtime import PLUGIN

ROUNDS = 100
TARGET_MS = 60


def _p(data, q):
    return statistics.quantiles(data, n=100, method="inclusive")[q - 1] * 1000


def _run(argv, env):
    done = subprocess.run(argv, input=b'{"cniVersion":"1.0.0"}', env=env, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr


def test_version_process(benchmark):
    env = {"CNI_COMMAND": "VERSION", "PATH": "/usr/bin:/bin"}
    rounds = ROUNDS if benchmark.enabled else 3
    benchmark.pedantic(_run, args=([str(PLUGIN)], env), rounds=rounds, warmup_rounds=3)
    data = benchmark.stats.stats.data
    bare = []
    for _ in range(rounds):
        start = time.perf_counter()
        _run([sys.executable, "-c", "pass"], env)
        bare.append(time.perf_counter() - start)
    benchmark.extra_info.update(
        p50_ms=round(_p(data, 50), 1),
        p99_ms=round(_p(data, 99), 1),
        bare_interpreter_p50_ms=round(_p(bare, 50), 1),
        bare_interpreter_p99_ms=round(_p(bare, 99), 1),
        target_p50_ms=TARGET_MS,
    )
    print(
        f"\nVERSION: p50 {_p(data, 50):.1f} ms, p99 {_p(data, 99):.1f} ms (target p50 <= {TARGET_MS} ms); "
        f"bare interpreter p50 {_p(bare, 50):.1f} ms"
    )
