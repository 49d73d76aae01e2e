"""A probe whose prober fails (its pod's namespace is gone, as when the soak deletes a pod during
a probe) raises ProbeError only once every other prober has ended: none is left running, nor
left to a closed event loop (which printed "Event loop is closed" tracebacks during soaks)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lab import netns
from lab.probing import ProbePod
from pyantrea_testing.names import unique_name

pytestmark = pytest.mark.ovs


def processes_in(name: str) -> list[str]:
    return subprocess.run(
        ["ip", "netns", "pids", name], capture_output=True, text=True, check=True
    ).stdout.split()


def test_a_failed_prober_leaves_no_other_running():
    live = unique_name("pf")
    netns.create(live)
    try:
        netns.run(live, "ip", "link", "set", "lo", "up")
        pods = [
            ProbePod("x/live", "10.255.255.1", live),  # no route there: waits for its timeout
            ProbePod("x/gone", "10.255.255.2", unique_name("gone")),  # no such namespace: fails at once
        ]
        script = (
            "from lab.probing import ProbeError, ProbePod, probe\n"
            f"try:\n    probe({pods!r}, protocol='TCP', port=80, timeout=3.0)\n"
            "except ProbeError as error:\n    print('raised:', error)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
        )
        assert done.stdout.startswith("raised: probing from x/gone failed"), done.stdout
        assert "Event loop is closed" not in done.stderr, done.stderr
        assert processes_in(live) == []  # the live pod's prober ended before probe() returned
    finally:
        netns.delete(live)
