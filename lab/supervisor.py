"""`python -m lab.supervisor SPEC`: keeps one lab program running, as a kubelet keeps a container.

The supervisor starts the program its spec names (a JSON file: `argv`, `netns`, `env` added to
its own, `output` for the program's stdout and stderr, `state` for the state file) and starts it
again whenever it exits, after a back-off: 1 s, doubling up to 30 s, back to 1 s once a run has
lasted `HEALTHY_SECONDS` (`Backoff`, the pure part). After every change it rewrites the state
file (`lab.supervised` reads it): the program's pid and start time, how many times it was
restarted, its state and its last exit.

SIGTERM (or SIGINT, SIGHUP) ends supervision: the supervisor never starts the program again,
stops it (SIGTERM, then SIGKILL after `STOP_GRACE_SECONDS`), records it stopped and exits. A
signal only sets a flag that the loop reads (through `signal.set_wakeup_fd`), so a start that is
under way finishes and is recorded first: a program is never started behind `lab down`'s back
and never unknown to it. Waiting is `select` on the program's pidfd and the wake-up pipe.
Only the standard library and `lab.processes`: it starts fast and stays small.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.processes import start_time

INITIAL_DELAY = 1.0
MAX_DELAY = 30.0
HEALTHY_SECONDS = 30.0
"""A run at least this long resets the back-off, as a container that ran well for a while."""
STOP_GRACE_SECONDS = 4.0

RUNNING = "running"
WAITING = "waiting"
"""The program exited; the supervisor starts it again at `nextStartAt`."""
STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class Backoff:
    """The delay before the next start; pure, so it is tested without processes."""

    delay: float = INITIAL_DELAY

    def after_exit(self, ran_for: float) -> tuple[float, Backoff]:
        """(how long to wait before starting again, the back-off after that start) for a run
        that lasted `ran_for` seconds."""
        wait = INITIAL_DELAY if ran_for >= HEALTHY_SECONDS else self.delay
        return wait, Backoff(min(wait * 2, MAX_DELAY))


def describe_exit(status: int) -> str:
    """`exit code 1` or `signal SIGKILL` for a returncode as subprocess reports it."""
    if status < 0:
        try:
            return f"signal {signal.Signals(-status).name}"
        except ValueError:
            return f"signal {-status}"
    return f"exit code {status}"


@dataclass(frozen=True, slots=True)
class Spec:
    argv: list[str]
    netns: str | None
    env: dict[str, str]
    output: Path
    state: Path

    @classmethod
    def load(cls, path: Path) -> Spec:
        document: Any = json.loads(path.read_text())
        return cls(
            argv=list(document["argv"]),
            netns=document.get("netns"),
            env=dict(document.get("env") or {}),
            output=Path(document["output"]),
            state=Path(document["state"]),
        )

    def dump(self) -> str:
        return json.dumps(
            {"argv": self.argv, "netns": self.netns, "env": self.env,
             "output": str(self.output), "state": str(self.state)},
            indent=2,
        )  # fmt: skip

    @property
    def command(self) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *self.argv] if self.netns else list(self.argv)


class Supervisor:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.stopping = False
        self.restarts = 0
        self.last_exit: str | None = None
        self.last_exit_at: float | None = None
        self._wake_read, wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wake_write)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._on_stop)

    def _on_stop(self, signum: int, frame: object) -> None:
        self.stopping = True

    def run(self) -> None:
        backoff = Backoff()
        while not self.stopping:
            child = self._start()
            started = time.monotonic()
            status = self._wait(child, timeout=None) if child is not None else 127
            if status is None:  # asked to stop while it runs
                self._stop(child)
                break
            self.last_exit, self.last_exit_at = describe_exit(status), time.time()
            delay, backoff = backoff.after_exit(time.monotonic() - started)
            self._note(f"exited ({self.last_exit}); starting it again in {delay:.0f}s")
            self._write(WAITING, None, next_start=time.time() + delay)
            self._sleep(delay)
            if not self.stopping:
                self.restarts += 1
        self._write(STOPPED, None)

    # -- the program -------------------------------------------------------------------------

    def _start(self) -> subprocess.Popen[bytes] | None:
        self.spec.output.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(self.spec.output, "ab") as output:
                child = subprocess.Popen(
                    self.spec.command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                    start_new_session=True, env={**os.environ, **self.spec.env},
                )  # fmt: skip
        except OSError as exc:
            self._note(f"cannot start {self.spec.command[0]}: {exc}")
            return None
        self._write(RUNNING, child)
        return child

    def _wait(self, child: subprocess.Popen[bytes], timeout: float | None) -> int | None:
        """The child's exit status once it exits, or None when asked to stop (or at `timeout`)."""
        pidfd = os.pidfd_open(child.pid)
        try:
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                if child.poll() is not None:
                    return child.returncode
                if self.stopping and timeout is None:
                    return None
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                if left == 0.0:
                    return None
                readable, _, _ = select.select([pidfd, self._wake_read], [], [], left)
                if self._wake_read in readable:
                    self._drain()
        finally:
            os.close(pidfd)

    def _stop(self, child: subprocess.Popen[bytes]) -> None:
        for signum in (signal.SIGTERM, signal.SIGKILL):
            if child.poll() is not None:
                break
            child.send_signal(signum)
            if self._wait(child, timeout=STOP_GRACE_SECONDS) is not None:
                break
        child.wait()
        self.last_exit, self.last_exit_at = describe_exit(child.returncode), time.time()

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and (left := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([self._wake_read], [], [], left)
            if readable:
                self._drain()

    def _drain(self) -> None:
        try:
            while os.read(self._wake_read, 64):
                pass
        except BlockingIOError:
            pass

    # -- records -----------------------------------------------------------------------------

    def _note(self, line: str) -> None:
        """A line in the program's output, where its log shows why it started again."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        with open(self.spec.output, "a") as output:
            output.write(f"{stamp} lab.supervisor: {self.spec.argv[0]} {line}\n")

    def _write(
        self, state: str, child: subprocess.Popen[bytes] | None, next_start: float | None = None
    ) -> None:
        pid = child.pid if child is not None else None
        document = {
            "supervisor": os.getpid(),
            "state": state,
            "pid": pid,
            "startTime": start_time(pid) if pid is not None else None,
            "startedAt": time.time() if child is not None else None,
            "restarts": self.restarts,
            "lastExit": self.last_exit,
            "lastExitAt": self.last_exit_at,
            "nextStartAt": next_start,
        }
        path = self.spec.state
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(json.dumps(document, indent=2) + "\n")
        os.replace(temporary, path)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m lab.supervisor SPEC", file=sys.stderr)
        return 2
    Supervisor(Spec.load(Path(args[0]))).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
