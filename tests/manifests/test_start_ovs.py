"""start-ovs, the pyantrea-ovs container's program, run as the container would run it but in a
network namespace and run directory of its own: the database made, flow-restore-wait set before
ovs-vswitchd's first transaction, the manifest's own liveness command passing, a clean stop on
SIGTERM, the database kept across restarts, and the whole container ending when a daemon dies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.manifests.conftest import container, find
from tests.manifests.images import START_OVS

pytestmark = pytest.mark.ovs

_WAIT_SECONDS = 30.0
RUNNING = "start-ovs: Open vSwitch is running"


class StartOvs:
    """One start-ovs process in `netns` with its run directory; stopped by pid in `close`."""

    def __init__(self, netns: str, run_dir: Path, *extra: str) -> None:
        self.netns = netns
        self.run_dir = run_dir
        self.log = run_dir.parent / f"{run_dir.name}.start-ovs.log"
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None
        self.daemon_pids: dict[str, int] = {}
        self._offset = 0

    def start(self) -> None:
        argv = [
            "ip",
            "netns",
            "exec",
            self.netns,
            sys.executable,
            str(START_OVS),
            "--run-dir",
            str(self.run_dir),
        ]
        self._offset = len(self.output())
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([*argv, *self.extra], stdout=log, stderr=log)

    def wait_running(self) -> None:
        self.wait_for_log(RUNNING)
        for daemon in ("ovsdb-server", "ovs-vswitchd"):
            self.daemon_pids[daemon] = int((self.run_dir / f"{daemon}.pid").read_text())

    def wait_for_log(self, text: str) -> None:
        deadline = time.monotonic() + _WAIT_SECONDS
        while text not in self.output():
            assert self.process is not None
            if self.process.poll() is not None and text not in self.output():
                raise AssertionError(f"start-ovs exited ({self.process.returncode}): {self.output()}")
            assert time.monotonic() < deadline, f"no {text!r} in: {self.output()}"
            time.sleep(0.05)

    def output(self) -> str:
        """What the latest start logged."""
        return self.log.read_text()[self._offset :] if self.log.exists() else ""

    def signal(self, signum: int) -> int:
        assert self.process is not None
        self.process.send_signal(signum)
        return self.process.wait(timeout=_WAIT_SECONDS)

    def env(self) -> dict[str, str]:
        return {**os.environ, "OVS_RUNDIR": str(self.run_dir)}

    def vsctl(self, *args: str) -> str:
        argv = ["ovs-vsctl", f"--db=unix:{self.run_dir / 'db.sock'}", "--timeout=10", *args]
        return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30).stdout.strip()

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.signal(signal.SIGTERM)
        for pid in self.daemon_pids.values():
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for every purpose here.
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"


@pytest.fixture
def start_ovs(namespace: str, tmp_path: Path) -> Iterator[StartOvs]:
    instance = StartOvs(namespace, tmp_path / "run")
    try:
        yield instance
    finally:
        instance.close()


def transactions(db_file: Path) -> list[dict]:
    """The records of an OVSDB standalone database file: a header line, then a JSON line each."""
    lines = db_file.read_text().splitlines()
    return [json.loads(line) for line in lines[1::2]]


def test_flow_restore_wait_is_set_before_ovs_vswitchd_writes_anything(start_ovs):
    start_ovs.start()
    start_ovs.wait_running()
    assert start_ovs.vsctl("get", "Open_vSwitch", ".", "other_config:flow-restore-wait") == '"true"'
    records = transactions(start_ovs.run_dir / "conf.db")[1:]  # after the schema
    flag = next(i for i, r in enumerate(records) if "flow-restore-wait" in json.dumps(r))
    # ovs-vswitchd's first write to the database records the datapath types it supports.
    vswitchd = next(i for i, r in enumerate(records) if "datapath_types" in json.dumps(r))
    assert flag < vswitchd


def test_the_manifests_liveness_command_passes_on_a_running_instance(start_ovs, manifest):
    pod = find(manifest, "DaemonSet", "pyantrea-agent")["spec"]["template"]["spec"]
    probe = container(pod, "pyantrea-ovs")["livenessProbe"]["exec"]["command"]
    start_ovs.start()
    start_ovs.wait_running()
    done = subprocess.run(probe, env=start_ovs.env(), capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert "Open vSwitch" in done.stdout


def test_sigterm_stops_both_daemons_and_exits_zero(start_ovs):
    start_ovs.start()
    start_ovs.wait_running()
    assert start_ovs.signal(signal.SIGTERM) == 0
    assert not any(alive(pid) for pid in start_ovs.daemon_pids.values())
    assert "ovs-vswitchd stopped" in start_ovs.output()
    assert "ovsdb-server stopped" in start_ovs.output()


def test_a_restart_keeps_the_bridges_and_sets_the_flag_again(start_ovs):
    start_ovs.start()
    start_ovs.wait_running()
    start_ovs.vsctl("add-br", "br-test", "--", "set", "Bridge", "br-test", "datapath_type=netdev")
    # What the agent does once its flows are in.
    start_ovs.vsctl("remove", "Open_vSwitch", ".", "other_config", "flow-restore-wait")
    assert start_ovs.signal(signal.SIGTERM) == 0

    start_ovs.start()
    start_ovs.wait_running()
    assert "created" not in start_ovs.output()
    assert start_ovs.vsctl("list-br") == "br-test"
    assert start_ovs.vsctl("get", "Open_vSwitch", ".", "other_config:flow-restore-wait") == '"true"'


def test_a_daemon_that_dies_ends_the_container(start_ovs):
    start_ovs.start()
    start_ovs.wait_running()
    os.kill(start_ovs.daemon_pids["ovs-vswitchd"], signal.SIGKILL)
    assert start_ovs.process is not None
    assert start_ovs.process.wait(timeout=_WAIT_SECONDS) == 1
    assert not alive(start_ovs.daemon_pids["ovsdb-server"])
    assert "ovs-vswitchd is gone" in start_ovs.output()


def test_a_database_that_cannot_be_made_fails_the_start(namespace, tmp_path):
    instance = StartOvs(namespace, tmp_path / "run", "--schema", str(tmp_path / "missing.ovsschema"))
    try:
        instance.start()
        assert instance.process is not None
        assert instance.process.wait(timeout=_WAIT_SECONDS) == 1
        assert "cannot start Open vSwitch: ovsdb-tool create" in instance.output()
        assert not (tmp_path / "run" / "ovsdb-server.pid").exists()
    finally:
        instance.close()
