"""Memory and descriptors of the lab's agents and controller over a soak, and whether they leak.

A `Sampler` thread reads every agent's and the controller's VmRSS and open descriptors from
/proc/<pid> (by the pid the lab's supervisor records) every `interval` seconds. `judge` (pure)
turns the samples of one program into a `Trend`: the first and the last sample, how many processes
(pids) it was, and the least-squares slope of RSS and of descriptors per 10 minutes.

A soak with faults kills programs, so one program is a row of processes; the slope is the
within-process one (each process's samples centred on their own means, one common slope fitted:
a process that starts small does not read as a leak of the one before it), over each process's
samples once it is WARMUP_SECONDS old (start-up, the initial sync and the caches a new process
fills are not a leak; its age is read from /proc too). It is judged only when those samples
cover JUDGED_SECONDS in all: a shorter soak reports the slope but does not judge it.

The thresholds are generous on purpose, to catch a clear leak and never the noise of a busy
2-core machine: a 30-minute soak without kills measured agents growing about 3 MiB per 10
minutes after their start (caches of a Python process under churn) and descriptors flat.
A leak is RSS growing faster than RSS_LEAK_MIB_PER_10MIN, or descriptors faster than
FDS_LEAK_PER_10MIN (a descriptor leaked on every reconnection would: a soak with faults cuts off
or kills an agent about twice a minute; a busy controller's descriptors vary by one or two as
connections come and go, which a short process's slope can read as 10 per 10 minutes).
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

WARMUP_SECONDS = 120.0
JUDGED_SECONDS = 600.0
RSS_LEAK_MIB_PER_10MIN = 25.0
FDS_LEAK_PER_10MIN = 15.0
TEN_MINUTES = 600.0


@dataclass(frozen=True, slots=True)
class Usage:
    pid: int
    rss_kib: int
    fds: int
    age: float = 0.0
    """seconds since the process started"""


@dataclass(frozen=True, slots=True)
class Sample:
    at: float
    """seconds since the sampling started"""
    usage: Usage


def usage_of(pid: int) -> Usage | None:
    """VmRSS, the number of open descriptors and the age of process `pid`, or None when it is
    gone (proc(5): the start time is field 22 of /proc/<pid>/stat, in clock ticks since boot)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        stat = Path(f"/proc/{pid}/stat").read_text()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except OSError:
        return None
    rss = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    started = int(stat.rpartition(")")[2].split()[19]) / os.sysconf("SC_CLK_TCK")
    return Usage(pid, rss, fds, max(0.0, uptime - started))


def within_process_slope(points: Iterable[tuple[int, float, float]]) -> tuple[float, float] | None:
    """(process, x, y) points -> (the common least-squares slope of y over x with one intercept per
    process, the x span the points cover in all); None when no process has two distinct x."""
    by_process: dict[int, list[tuple[float, float]]] = {}
    for process, x, y in points:
        by_process.setdefault(process, []).append((x, y))
    numerator = denominator = span = 0.0
    for pairs in by_process.values():
        if len(pairs) < 2:
            continue
        mean_x = statistics.fmean(x for x, _ in pairs)
        mean_y = statistics.fmean(y for _, y in pairs)
        numerator += sum((x - mean_x) * (y - mean_y) for x, y in pairs)
        denominator += sum((x - mean_x) ** 2 for x, _ in pairs)
        span += max(x for x, _ in pairs) - min(x for x, _ in pairs)
    if denominator == 0:
        return None
    return numerator / denominator, span


@dataclass(frozen=True, slots=True)
class Trend:
    program: str
    start: Usage
    end: Usage
    processes: int
    rss_mib_per_10min: float | None
    fds_per_10min: float | None
    judged_seconds: float

    @property
    def judged(self) -> bool:
        return self.judged_seconds >= JUDGED_SECONDS

    @property
    def leaks(self) -> list[str]:
        if not self.judged:
            return []
        found = []
        if self.rss_mib_per_10min is not None and self.rss_mib_per_10min > RSS_LEAK_MIB_PER_10MIN:
            found.append(
                f"{self.program}: RSS grows {self.rss_mib_per_10min:.1f} MiB per 10 minutes "
                f"(more than {RSS_LEAK_MIB_PER_10MIN:.0f})"
            )
        if self.fds_per_10min is not None and self.fds_per_10min > FDS_LEAK_PER_10MIN:
            found.append(
                f"{self.program}: open descriptors grow {self.fds_per_10min:.1f} per 10 minutes "
                f"(more than {FDS_LEAK_PER_10MIN:.0f})"
            )
        return found

    def render(self) -> str:
        def mib(usage: Usage) -> str:
            return f"{usage.rss_kib / 1024:.1f} MiB, {usage.fds} fds"

        if self.rss_mib_per_10min is None or self.fds_per_10min is None:
            slope = "no slope (no process sampled twice after its warm-up)"
        else:
            slope = f"slope {self.rss_mib_per_10min:+.1f} MiB, {self.fds_per_10min:+.1f} fds per 10 min"
            judged = f"over {self.judged_seconds / 60:.1f} min"
            slope += f" {judged}" if self.judged else f" {judged}, too short to judge"
        return (
            f"{self.program}: {mib(self.start)} -> {mib(self.end)} ({self.processes} "
            f"process{'es' if self.processes != 1 else ''}); {slope}"
        )


def judge(program: str, samples: Sequence[Sample]) -> Trend:
    """The trend of one program's samples (in time order, at least one)."""
    pids = {sample.usage.pid for sample in samples}
    warm = [s for s in samples if s.usage.age >= WARMUP_SECONDS]
    rss = within_process_slope((s.usage.pid, s.at, s.usage.rss_kib / 1024) for s in warm)
    fds = within_process_slope((s.usage.pid, s.at, float(s.usage.fds)) for s in warm)
    return Trend(
        program,
        samples[0].usage,
        samples[-1].usage,
        len(pids),
        None if rss is None else rss[0] * TEN_MINUTES,
        None if fds is None else fds[0] * TEN_MINUTES,
        0.0 if rss is None else rss[1],
    )


@dataclass
class Sampler:
    """Samples `pids()` (program title -> pid) every `interval` seconds in a thread of its own."""

    pids: Callable[[], dict[str, int]]
    interval: float = 10.0
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _origin: float = 0.0

    def start(self) -> None:
        self._origin = time.monotonic()
        self.sample()
        self._thread = threading.Thread(target=self._run, name="soak-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()

    def sample(self) -> None:
        try:
            pids = self.pids()
        except (OSError, ValueError):  # the lab's record mid-write: the next sample will do
            return
        at = time.monotonic() - self._origin
        for program, pid in pids.items():
            usage = usage_of(pid)
            if usage is not None:
                self.samples.setdefault(program, []).append(Sample(at, usage))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def trends(self) -> list[Trend]:
        return [judge(program, samples) for program, samples in sorted(self.samples.items()) if samples]
