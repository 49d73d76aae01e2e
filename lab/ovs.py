"""One Open vSwitch instance (ovsdb-server + ovs-vswitchd) in a private run directory.

On the userspace datapath (`datapath_type=netdev`) every internal port is a tap device in
ovs-vswitchd's own network namespace, so each lab node and each test runs its own instance
inside its own namespace. The instance's processes are our children, tracked and stopped by
pid (never by name: other work may share the machine), and every path they use lives under
the run directory, which also holds their logs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SCHEMA = Path("/usr/share/openvswitch/vswitch.ovsschema")
_STOP_GRACE_SECONDS = 5.0


class OvsError(RuntimeError):
    """An Open vSwitch daemon or tool failed; the message includes its output."""


@dataclass(frozen=True)
class OvsPaths:
    """Where one instance keeps its database, sockets, pid and log files."""

    rundir: Path

    @property
    def db_file(self) -> Path:
        return self.rundir / "conf.db"

    @property
    def db_socket(self) -> Path:
        return self.rundir / "db.sock"

    @property
    def db_remote(self) -> str:
        """The OVSDB address for clients (ovs-vsctl --db=..., python-ovs Idl)."""
        return f"unix:{self.db_socket}"

    def mgmt_socket(self, bridge: str) -> Path:
        """The bridge's OpenFlow management socket."""
        return self.rundir / f"{bridge}.mgmt"

    def ctl_socket(self, daemon: str) -> Path:
        return self.rundir / f"{daemon}.ctl"

    def log_file(self, daemon: str) -> Path:
        return self.rundir / f"{daemon}.log"

    def env(self) -> dict[str, str]:
        """Environment that points every OVS program at this instance's directories."""
        env = dict(os.environ)
        env.pop("OVS_PKGDATADIR", None)
        return env | self.env_overrides()

    def env_overrides(self) -> dict[str, str]:
        """What `env()` sets on top of the caller's environment."""
        return {
            "OVS_RUNDIR": str(self.rundir),
            "OVS_DBDIR": str(self.rundir),
            "OVS_LOGDIR": str(self.rundir),
            "OVS_SYSCONFDIR": str(self.rundir),
        }

    def output(self, daemon: str) -> Path:
        """Where a daemon's stdout and stderr go (its log proper is `log_file`)."""
        return self.rundir / f"{daemon}.stderr"


class OvsInstance:
    """Start, query and stop one ovsdb-server + ovs-vswitchd pair.

    `netns` names the network namespace the daemons run in (None: the caller's own).
    """

    def __init__(self, rundir: Path, netns: str | None = None) -> None:
        self.paths = OvsPaths(Path(rundir))
        self.netns = netns
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, *, flow_restore_wait: bool = False) -> None:
        """Create the database if needed, then start both daemons and wait until they answer."""
        self.prepare()
        self.start_ovsdb()
        self.vsctl("--no-wait", "init")
        if flow_restore_wait:
            self.vsctl("--no-wait", "set", "Open_vSwitch", ".", "other_config:flow-restore-wait=true")
        self.start_vswitchd()

    def prepare(self) -> None:
        """The run directory and the database, for daemons started by `start` or by someone else
        (the lab runs them under supervisors, from `command`)."""
        self.paths.rundir.mkdir(parents=True, exist_ok=True)
        if not self.paths.db_file.exists():
            self._tool("ovsdb-tool", "create", str(self.paths.db_file), str(SCHEMA))

    def command(self, daemon: str) -> list[str]:
        """The command line of `ovsdb-server` or `ovs-vswitchd` of this instance (to be run in
        its namespace, with `paths.env()`)."""
        if daemon == "ovsdb-server":
            args = [str(self.paths.db_file), f"--remote=punix:{self.paths.db_socket}"]
        elif daemon == "ovs-vswitchd":
            args = [self.paths.db_remote]
        else:
            raise ValueError(f"no Open vSwitch daemon {daemon!r}")
        log = self.paths.log_file(daemon)
        return [daemon, *args, f"--unixctl={self.paths.ctl_socket(daemon)}", f"--log-file={log}",
                "-vconsole:off", "--no-chdir"]  # fmt: skip

    def ready_path(self, daemon: str) -> Path:
        """The file a daemon makes once it answers."""
        return self.paths.db_socket if daemon == "ovsdb-server" else self.paths.ctl_socket(daemon)

    def start_ovsdb(self) -> None:
        self._spawn("ovsdb-server")
        self._wait_for(self.ready_path("ovsdb-server"), "ovsdb-server")

    def start_vswitchd(self) -> None:
        self._spawn("ovs-vswitchd")
        self._wait_for(self.ready_path("ovs-vswitchd"), "ovs-vswitchd")

    def stop_vswitchd(self, *, kill: bool = False) -> None:
        """Stop ovs-vswitchd only (SIGKILL with kill=True, as a crash would)."""
        self._stop("ovs-vswitchd", sig=signal.SIGKILL if kill else signal.SIGTERM)

    def stop_ovsdb(self) -> None:
        """Stop ovsdb-server only; ovs-vswitchd and clients reconnect once it starts again."""
        self._stop("ovsdb-server")
        with contextlib.suppress(FileNotFoundError):
            self.paths.db_socket.unlink()

    def stop(self) -> None:
        """Stop both daemons; safe to call more than once."""
        self._stop("ovs-vswitchd")
        self._stop("ovsdb-server")

    def pid(self, daemon: str) -> int | None:
        proc = self._procs.get(daemon)
        return proc.pid if proc is not None and proc.poll() is None else None

    def __enter__(self) -> OvsInstance:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- tools ----------------------------------------------------------------------------------

    def vsctl(self, *args: str) -> str:
        return self._tool("ovs-vsctl", f"--db={self.paths.db_remote}", "--timeout=10", *args)

    def ofctl(
        self,
        command: str,
        bridge: str,
        *args: str,
        version: str = "OpenFlow15",
        options: tuple[str, ...] = (),
    ) -> str:
        """Run `ovs-ofctl -O version OPTIONS COMMAND <bridge mgmt socket> ARGS`."""
        target = f"unix:{self.paths.mgmt_socket(bridge)}"
        return self._tool("ovs-ofctl", "-O", version, *options, command, target, *args)

    def appctl(self, *args: str) -> str:
        return self._tool("ovs-appctl", "-t", str(self.paths.ctl_socket("ovs-vswitchd")), *args)

    def add_bridge(
        self,
        bridge: str,
        *,
        datapath_type: str = "netdev",
        protocols: str = "OpenFlow10,OpenFlow13,OpenFlow15",
    ) -> None:
        """A bare test bridge speaking OpenFlow 1.5 (the agent creates its own bridges itself)."""
        self.vsctl(
            "--may-exist", "add-br", bridge,
            "--", "set", "Bridge", bridge, f"datapath_type={datapath_type}",
            f"protocols={protocols}", "fail_mode=secure",
        )  # fmt: skip
        self._wait_for(self.paths.mgmt_socket(bridge), "ovs-vswitchd", f"bridge {bridge}")

    # -- internals --------------------------------------------------------------------------

    def _argv(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *argv] if self.netns else list(argv)

    def _spawn(self, daemon: str) -> None:
        if self.pid(daemon) is not None:
            raise OvsError(f"{daemon} is already running in {self.paths.rundir}")
        argv = self._argv(*self.command(daemon))
        with open(self.paths.output(daemon), "ab") as stderr:
            self._procs[daemon] = subprocess.Popen(
                argv, env=self.paths.env(), stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
                start_new_session=True,
            )  # fmt: skip

    def wait_ready(self, daemon: str, alive: Callable[[], bool], timeout: float = 15.0) -> None:
        """Wait until `daemon`, started by someone else, answers; OvsError once `alive()` is false."""
        deadline = time.monotonic() + timeout
        while not self.ready_path(daemon).exists():
            if not alive():
                raise OvsError(f"{daemon} exited: {self._log_tail(daemon)}")
            if time.monotonic() > deadline:
                raise OvsError(f"{daemon} did not answer within {timeout}s: {self._log_tail(daemon)}")
            time.sleep(0.01)

    def _wait_for(self, path: Path, daemon: str, what: str = "", timeout: float = 15.0) -> None:
        """Wait until `daemon` has created `path` (`what` names it in the error)."""
        what = what or daemon
        deadline = time.monotonic() + timeout
        while not path.exists():
            proc = self._procs.get(daemon)
            if proc is not None and proc.poll() is not None:
                raise OvsError(f"{daemon} exited with {proc.returncode}: {self._log_tail(daemon)}")
            if time.monotonic() > deadline:
                raise OvsError(f"{what} did not create {path} within {timeout}s: {self._log_tail(daemon)}")
            time.sleep(0.01)

    def _stop(self, daemon: str, sig: signal.Signals = signal.SIGTERM) -> None:
        proc = self._procs.pop(daemon, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=_STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        with contextlib.suppress(FileNotFoundError):
            self.paths.ctl_socket(daemon).unlink()

    def _tool(self, *argv: str) -> str:
        result = subprocess.run(
            list(argv), env=self.paths.env(), capture_output=True, text=True, timeout=60, check=False
        )
        if result.returncode != 0:
            raise OvsError(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout

    def _log_tail(self, daemon: str, lines: int = 10) -> str:
        text = ""
        for path in (self.paths.log_file(daemon), self.paths.output(daemon)):
            with contextlib.suppress(OSError):
                text += path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])
