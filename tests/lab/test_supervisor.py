"""lab.supervisor and lab.supervised: the back-off as a pure rule, then real supervisors of real
processes: a killed program comes back with a new pid and one more restart, a crashing one is
started again later and later, and stopping ends supervision with nothing left running, also
when the supervisor itself was killed."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lab.processes import is_running, start_time
from lab.supervised import (
    ProgramState,
    Stoppable,
    Supervised,
    SupervisorFailed,
    program_state,
    start_supervised,
    stop_supervised,
)
from lab.supervisor import HEALTHY_SECONDS, INITIAL_DELAY, MAX_DELAY, Backoff, describe_exit

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


def test_the_delay_doubles_from_one_second_to_the_cap():
    backoff, delays = Backoff(), []
    for _ in range(8):
        delay, backoff = backoff.after_exit(ran_for=0.1)
        delays.append(delay)
    assert delays == [1, 2, 4, 8, 16, 30, 30, 30]


@given(st.lists(st.floats(min_value=0, max_value=3 * HEALTHY_SECONDS), max_size=40))
def test_delays_stay_in_bounds_and_a_healthy_run_starts_over(runs: list[float]):
    backoff = Backoff()
    previous = None
    for ran_for in runs:
        delay, backoff = backoff.after_exit(ran_for)
        assert INITIAL_DELAY <= delay <= MAX_DELAY
        if ran_for >= HEALTHY_SECONDS:
            assert delay == INITIAL_DELAY
        elif previous is not None:
            assert delay == min(previous * 2, MAX_DELAY)
        previous = delay


def test_exits_are_described_as_a_user_reads_them():
    assert describe_exit(3) == "exit code 3"
    assert describe_exit(-9) == "signal SIGKILL"


@pytest.fixture
def supervise(tmp_path: Path) -> Iterator[Callable[..., Supervised]]:
    started: list[Supervised] = []

    def start(argv: list[str], name: str = "program") -> Supervised:
        started.append(start_supervised(argv, directory=tmp_path / name, output=tmp_path / f"{name}.log"))
        return started[-1]

    try:
        yield start
    finally:
        stop_supervised([Stoppable(s.supervisor, s.state, (s.program,)) for s in started])


def wait_until(condition: Callable[[], ProgramState | None], timeout: float = 10.0) -> ProgramState:
    deadline = time.monotonic() + timeout
    while (state := condition()) is None:
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
    return state


def test_a_killed_program_is_started_again_with_one_more_restart(supervise, tmp_path: Path):
    started = supervise(SLEEPER)
    first = program_state(started.state)
    assert (first.state, first.running, first.restarts) == ("running", True, 0)
    assert first.pid == started.program.pid
    os.kill(started.program.pid, signal.SIGKILL)
    again = wait_until(lambda: s if (s := program_state(started.state)).running and s.restarts else None)
    assert again.pid != started.program.pid
    assert (again.restarts, again.last_exit) == (1, "signal SIGKILL")
    assert "exited (signal SIGKILL); starting it again in 1s" in (tmp_path / "program.log").read_text()


def test_a_crashing_program_waits_longer_each_time(supervise):
    started = supervise([sys.executable, "-c", "import sys; sys.exit(3)"])
    begun = time.monotonic()
    restarted_at = []
    for count in (1, 2, 3):
        state = wait_until(lambda n=count: s if (s := program_state(started.state)).restarts >= n else None)
        restarted_at.append(time.monotonic())
        assert state.last_exit == "exit code 3"
    # 1 s before the first restart, then 2 s, then 4 s (no faster: a lower bound only)
    gaps = [b - a for a, b in zip([begun, *restarted_at], restarted_at, strict=False)]
    assert gaps[0] >= 0.9 and gaps[1] >= 1.9 and gaps[2] >= 3.9, gaps


def test_stopping_ends_supervision_and_the_program_without_a_restart(supervise):
    started = supervise(SLEEPER)
    stop_supervised([Stoppable(started.supervisor, started.state, (started.program,))])
    assert not is_running(started.supervisor) and not is_running(started.program)
    final = program_state(started.state)
    assert (final.state, final.restarts, final.last_exit) == ("stopped", 0, "signal SIGTERM")


def test_stopping_while_it_waits_to_start_again_starts_nothing(supervise):
    started = supervise(SLEEPER)
    os.kill(started.program.pid, signal.SIGKILL)
    wait_until(lambda: s if (s := program_state(started.state)).state == "waiting" else None)
    stop_supervised([Stoppable(started.supervisor, started.state, (started.program,))])
    time.sleep(INITIAL_DELAY + 0.5)
    final = program_state(started.state)
    assert (final.state, final.pid, final.restarts) == ("stopped", None, 0)


def test_a_program_whose_supervisor_was_killed_is_still_stopped(supervise):
    started = supervise(SLEEPER)
    os.kill(started.supervisor.pid, signal.SIGKILL)
    while is_running(started.supervisor):
        time.sleep(0.01)
    assert is_running(started.program)  # orphaned, not restarted by anyone, but known
    stop_supervised([Stoppable(started.supervisor, started.state, (started.program,))])
    assert not is_running(started.program)


def test_a_program_that_cannot_start_fails_with_where_to_look(tmp_path: Path):
    with pytest.raises(SupervisorFailed, match=r"no-such-program did not start \(exit code 127\)"):
        start_supervised(["no-such-program"], directory=tmp_path / "x", output=tmp_path / "x.log")
    supervisor = program_state(tmp_path / "x" / "state.json").supervisor
    assert supervisor is not None and start_time(supervisor) is None, "its supervisor was left running"
