#!/usr/bin/env python3
"""start-ovs: Open vSwitch (ovsdb-server and ovs-vswitchd) in the foreground of the agent pod's ovs container.

    start-ovs [--run-dir /var/run/openvswitch] [--db-file RUN_DIR/conf.db]

1. Create the database from the schema, or convert it when the image brings a newer schema.
2. Start ovsdb-server, initialize the database and set other_config:flow-restore-wait=true.
3. Start ovs-vswitchd. Because of the flag it keeps the kernel datapath's flows (pods keep their
   traffic while the container restarts) until the agent has installed its flows and clears it,
   as Antrea's start_ovs and agent do.
4. Wait. SIGTERM or SIGINT stops ovs-vswitchd, then ovsdb-server, and exits 0; neither daemon
   removes the datapath on the way out. Either daemon ending on its own stops the other and
   exits 1, so the kubelet restarts the container.

The database lives in the run directory, a hostPath in the DaemonSet: bridges and ports survive
a container restart (which is what makes flow-restore-wait useful) and a node reboot starts
clean. Only the standard library is used: this runs on the image's system Python.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

SCHEMA = Path("/usr/share/openvswitch/vswitch.ovsschema")
DEFAULT_RUN_DIR = Path("/var/run/openvswitch")
"""The agent's ovsRunDir, and where ovs-appctl looks by default."""
STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})
_WAITED = STOP_SIGNALS | {signal.SIGCHLD}
_START_TIMEOUT_SECONDS = 30.0
_STOP_GRACE_SECONDS = 10.0
# Daemon logs go to the container's stderr, where `kubectl logs -c pyantrea-ovs` finds them.
_LOGGING = ("-vconsole:info", "-vsyslog:off", "-vfile:off")


class StartError(RuntimeError):
    """Open vSwitch could not be started; the message says which step failed and why."""


def log(message: str) -> None:
    print(f"start-ovs: {message}", file=sys.stderr, flush=True)


class Daemons:
    """The daemons this process started, by name, in start order."""

    def __init__(self, env: dict[str, str]) -> None:
        self._env = env
        self._pids: dict[str, int] = {}

    def spawn(self, name: str, argv: Sequence[str]) -> int:
        # The child starts with an empty signal mask: this process blocks the signals it waits for.
        pid = os.posix_spawnp(name, [name, *argv], self._env, setsigmask=())
        self._pids[name] = pid
        log(f"{name} started (pid {pid})")
        return pid

    def reap(self) -> str | None:
        """Collect every exited child; the name of a daemon among them, if any."""
        ended = None
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return ended
            if pid == 0:
                return ended
            for name, known in list(self._pids.items()):
                if known == pid:
                    del self._pids[name]
                    log(f"{name} (pid {pid}) ended: {_describe(status)}")
                    ended = name

    def running(self, name: str) -> bool:
        self.reap()
        return name in self._pids

    def stop_all(self) -> None:
        """Stop the daemons in reverse start order: ovs-vswitchd before the database it reads."""
        for name in reversed(list(self._pids)):
            self._stop(name)

    def _stop(self, name: str) -> None:
        pid = self._pids.pop(name)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + _STOP_GRACE_SECONDS
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                log(f"{name} stopped: {_describe(status)}")
                return
            time.sleep(0.05)
        log(f"{name} did not stop within {_STOP_GRACE_SECONDS:.0f}s, killing it")
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def run_tool(env: dict[str, str], *argv: str) -> str:
    done = subprocess.run(list(argv), env=env, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise StartError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout.strip()


def prepare_database(env: dict[str, str], db_file: Path, schema: Path) -> None:
    if not db_file.exists():
        run_tool(env, "ovsdb-tool", "create", str(db_file), str(schema))
        log(f"created {db_file}")
    elif run_tool(env, "ovsdb-tool", "needs-conversion", str(db_file), str(schema)) == "yes":
        run_tool(env, "ovsdb-tool", "convert", str(db_file), str(schema))
        log(f"converted {db_file} to the schema of this image")


def wait_for(path: Path, daemons: Daemons, name: str) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while not path.exists():
        if not daemons.running(name):
            raise StartError(f"{name} ended before creating {path}")
        if time.monotonic() > deadline:
            raise StartError(f"{name} did not create {path} within {_START_TIMEOUT_SECONDS:.0f}s")
        time.sleep(0.05)


def start(daemons: Daemons, env: dict[str, str], run_dir: Path, db_file: Path) -> None:
    db_socket = run_dir / "db.sock"
    daemons.spawn(
        "ovsdb-server",
        [
            str(db_file),
            f"--remote=punix:{db_socket}",
            "--remote=db:Open_vSwitch,Open_vSwitch,manager_options",
            f"--pidfile={run_dir / 'ovsdb-server.pid'}",
            "--no-chdir",
            *_LOGGING,
        ],
    )
    wait_for(db_socket, daemons, "ovsdb-server")
    vsctl = ("ovs-vsctl", f"--db=unix:{db_socket}", "--timeout=30", "--no-wait")
    run_tool(env, *vsctl, "init")
    # Before ovs-vswitchd reads the database: it must not flush the datapath's flows on start.
    run_tool(env, *vsctl, "set", "Open_vSwitch", ".", "other_config:flow-restore-wait=true")
    log("flow-restore-wait set; the agent clears it once its flows are installed")
    pidfile = run_dir / "ovs-vswitchd.pid"
    daemons.spawn(
        "ovs-vswitchd",
        [f"unix:{db_socket}", f"--pidfile={pidfile}", "--no-chdir", *_LOGGING],
    )
    wait_for(pidfile, daemons, "ovs-vswitchd")


@contextmanager
def signals_blocked() -> Iterator[None]:
    """Block the signals `sigwaitinfo` collects, so none arrives between two waits and is lost."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _WAITED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def supervise(daemons: Daemons) -> int:
    """Until a stop signal (0) or a daemon's end (1)."""
    while True:
        info = signal.sigwaitinfo(_WAITED)
        if info.si_signo in STOP_SIGNALS:
            log(f"{signal.Signals(info.si_signo).name} received, stopping")
            daemons.stop_all()
            return 0
        ended = daemons.reap()
        if ended is not None:
            log(f"{ended} is gone, stopping the other daemon")
            daemons.stop_all()
            return 1


def ovs_environment(run_dir: Path, db_file: Path) -> dict[str, str]:
    """The environment that points the daemons and tools at this run directory."""
    env = dict(os.environ)
    env.update(OVS_RUNDIR=str(run_dir), OVS_DBDIR=str(db_file.parent), OVS_LOGDIR=str(run_dir))
    return env


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="start-ovs", description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, default=DEFAULT_RUN_DIR)
    parser.add_argument("--db-file", type=Path, help="the database (default: RUN_DIR/conf.db)")
    parser.add_argument("--schema", type=Path, default=SCHEMA, help="vswitch.ovsschema of this image")
    args = parser.parse_args(argv)
    run_dir: Path = args.run_dir.absolute()
    db_file: Path = (args.db_file or run_dir / "conf.db").absolute()
    run_dir.mkdir(parents=True, exist_ok=True)
    env = ovs_environment(run_dir, db_file)
    daemons = Daemons(env)
    with signals_blocked():
        try:
            prepare_database(env, db_file, args.schema)
            start(daemons, env, run_dir, db_file)
        except (StartError, OSError, subprocess.TimeoutExpired) as exc:
            log(f"cannot start Open vSwitch: {exc}")
            daemons.stop_all()
            return 1
        log("Open vSwitch is running")
        return supervise(daemons)


if __name__ == "__main__":
    sys.exit(main())
