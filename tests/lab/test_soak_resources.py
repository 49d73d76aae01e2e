"""The soak's memory and descriptor trend: a within-process least-squares slope after warm-up,
judged against generous thresholds once enough has been sampled; and the real /proc reading."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from lab.soak.resources import (
    FDS_LEAK_PER_10MIN,
    JUDGED_SECONDS,
    RSS_LEAK_MIB_PER_10MIN,
    WARMUP_SECONDS,
    Sample,
    Sampler,
    Usage,
    judge,
    usage_of,
    within_process_slope,
)


@settings(max_examples=60)
@given(
    st.floats(-5, 5),
    st.lists(st.tuples(st.floats(0, 1000), st.integers(2, 20)), min_size=1, max_size=5),
)
def test_the_slope_is_the_one_within_each_process_whatever_each_starts_at(slope, processes):
    points = []
    start = 0.0
    for pid, (offset, count) in enumerate(processes):
        points += [(pid, start + i * 10.0, offset + slope * (start + i * 10.0)) for i in range(count)]
        start += count * 10.0
    found = within_process_slope(points)
    assert found is not None
    assert abs(found[0] - slope) < 1e-6
    assert found[1] == sum((count - 1) * 10.0 for _, count in processes)


def test_a_process_that_restarts_smaller_is_no_drop_and_a_bigger_one_no_leak():
    """Across processes RSS jumps (a new process is smaller, or bigger): not a trend."""
    points = [(1, t, 100.0) for t in range(0, 300, 10)] + [(2, t, 400.0) for t in range(300, 600, 10)]
    assert within_process_slope(points) == (0.0, 290.0 + 290.0)
    assert within_process_slope([(1, 0.0, 1.0), (2, 5.0, 2.0)]) is None


def samples(
    rss_mib_per_minute: float, fds_per_minute: float, minutes: float, *, age0: float = 0.0
) -> list[Sample]:
    found = []
    for i in range(int(minutes * 6) + 1):
        at = i * 10.0
        rss = int((100 + rss_mib_per_minute * at / 60) * 1024)
        found.append(Sample(at, Usage(42, rss, 40 + int(fds_per_minute * at / 60), age0 + at)))
    return found


def test_a_clear_leak_is_named_and_a_flat_program_is_not():
    minutes = (WARMUP_SECONDS + JUDGED_SECONDS) / 60 + 1
    leaking = judge("agent on node1", samples(RSS_LEAK_MIB_PER_10MIN / 5, 0, minutes))
    assert leaking.judged and leaking.rss_mib_per_10min is not None
    assert abs(leaking.rss_mib_per_10min - 2 * RSS_LEAK_MIB_PER_10MIN) < 1
    assert leaking.leaks == [
        f"agent on node1: RSS grows {leaking.rss_mib_per_10min:.1f} MiB per 10 minutes "
        f"(more than {RSS_LEAK_MIB_PER_10MIN:.0f})"
    ]
    fds = judge("controller", samples(0, FDS_LEAK_PER_10MIN / 5, minutes))
    assert fds.fds_per_10min is not None and abs(fds.fds_per_10min - 2 * FDS_LEAK_PER_10MIN) < 1
    assert fds.leaks == [
        f"controller: open descriptors grow {fds.fds_per_10min:.1f} per 10 minutes "
        f"(more than {FDS_LEAK_PER_10MIN:.0f})"
    ]
    flat = judge("agent on node2", samples(0.3, 0, minutes))
    assert flat.judged and flat.leaks == [] and flat.start.rss_kib < flat.end.rss_kib


def test_the_warm_up_is_left_out_and_a_short_soak_is_reported_but_not_judged():
    # growth only during the first WARMUP_SECONDS of the process, flat after: no slope
    warming = [
        Sample(s.at, Usage(7, s.usage.rss_kib if s.at < WARMUP_SECONDS else 200 * 1024, 40, s.at))
        for s in samples(50, 0, 20)
    ]
    trend = judge("agent", warming)
    assert trend.rss_mib_per_10min == 0.0 and trend.judged and trend.leaks == []
    short = judge("agent", samples(100, 100, 3, age0=WARMUP_SECONDS))
    assert not short.judged and short.leaks == []
    assert "too short to judge" in short.render()
    assert "no slope" in judge("agent", samples(100, 0, 1)).render()


def test_usage_is_read_from_proc_by_pid():
    mine = usage_of(os.getpid())
    assert mine is not None and mine.pid == os.getpid() and mine.rss_kib > 1000
    with socket.socket() as extra:
        assert extra.fileno() > 0
        more = usage_of(os.getpid())
        assert more is not None and more.fds == mine.fds + 1
    assert usage_of(2**22 + 1) is None  # above pid_max: no such process


def test_the_sampler_follows_processes_by_pid_and_lets_go_of_one_that_is_gone():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        sampler = Sampler(lambda: {"agent on node1": child.pid, "controller": os.getpid()}, interval=0.05)
        sampler.start()
        time.sleep(0.3)
        child.kill()
        child.wait()
        time.sleep(0.2)
        sampler.stop()
    finally:
        if child.poll() is None:
            child.kill()
    agent, controller = sampler.samples["agent on node1"], sampler.samples["controller"]
    assert len(agent) >= 3 and {s.usage.pid for s in agent} == {child.pid}
    assert len(controller) > len(agent)  # the child's samples stop when it is gone
    assert [s.at for s in controller] == sorted(s.at for s in controller)
    trends = {trend.program: trend for trend in sampler.trends()}
    assert trends["controller"].start.pid == os.getpid() and trends["agent on node1"].processes == 1
