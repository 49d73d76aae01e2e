"""The lab starts again any of its programs that exits, as a kubelet restarts a crashed container.

A 3-node lab loses, at once and by SIGKILL, an agent, the controller, an ovs-vswitchd, an
ovsdb-server, a kubelet, kube-apiserver and etcd: each comes back with a new pid, `lab status`
counts one restart for it and none for the others, and the cluster works again (pods reach each
other, new pods start on the nodes whose agent and kubelet were killed).
Then `lab down`, right after more kills, races the restarts and still leaves nothing.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest

from lab.processes import start_time
from tests.e2e.lab import Lab, all_reachable, namespace_manifest, pod_manifest

pytestmark = pytest.mark.ovs

_RECOVERY_SECONDS = 90.0


def programs(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every program of the status document by a name: `etcd`, `controller`, `agent@node2`, ..."""
    found = {**status["controlPlane"], "apiforward": status["apiForward"]}
    found["controller"] = status["controller"]["process"]
    for node in status["nodes"]:
        for role in ("agent", "kubelet"):
            found[f"{role}@{node['name']}"] = node[role]
        for daemon, process in node["ovs"].items():
            found[f"{daemon}@{node['name']}"] = process
    return found


def wait_for(lab: Lab, what: str, condition: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + _RECOVERY_SECONDS
    while True:
        status = lab.status()
        if condition(status):
            return status
        assert time.monotonic() < deadline, f"not {what} after {_RECOVERY_SECONDS:.0f}s: {status}"
        time.sleep(0.5)


def test_killed_programs_come_back_and_down_still_leaves_nothing(make_lab: Callable[[], Lab]):
    lab = make_lab().up(3)
    manifest = namespace_manifest("r") + "".join(
        pod_manifest("r", name, node=node) for name, node in (("a", "node1"), ("b", "node2"), ("c", "node3"))
    )
    lab.apply(manifest, "--wait")
    assert all_reachable(lab.probe(80, "-n", "r"))
    before = programs(lab.status())
    assert all(p["running"] and p["restarts"] == 0 and p["supervisor"]["running"] for p in before.values())
    victims = ["agent@node2", "controller", "ovs-vswitchd@node3", "kube-apiserver", "etcd",
               "kubelet@node3", "ovsdb-server@node1"]  # fmt: skip
    for name in victims:
        os.kill(before[name]["pid"], signal.SIGKILL)

    def recovered(status: dict[str, Any]) -> bool:
        now = programs(status)
        back = all(now[name]["running"] and now[name]["restarts"] == 1 for name in victims)
        return back and status["controller"]["ready"] and all(node["ready"] for node in status["nodes"])

    status = wait_for(lab, "recovered", recovered)
    after = programs(status)
    for name in victims:
        assert after[name]["pid"] != before[name]["pid"], name
        assert after[name]["lastExit"] == "signal SIGKILL", name
    assert {name for name, p in after.items() if p["restarts"]} == set(victims)
    table = lab.run("status").stdout
    assert "1 restart)" in table and "NOT RUNNING" not in table

    # The agents resynced with their switches and the controller: pods reach each other, new ones start.
    deadline = time.monotonic() + 30
    while not all_reachable(matrix := lab.probe(80, "-n", "r")):
        assert time.monotonic() < deadline, matrix
        time.sleep(1)
    new_pods = [pod_manifest("r", name, node=node) for name, node in (("d", "node2"), ("e", "node3"))]
    lab.apply("".join(new_pods), "--wait")
    assert all_reachable(lab.probe(80, "-n", "r"))

    # More kills, and `down` at once, while the supervisors wait to start them again.
    running = lab.processes()
    assert {p["supervisor"]["pid"] for p in after.values()} <= {pid for pid, _ in running}
    for name in ("agent@node1", "kubelet@node1", "kube-scheduler"):
        os.kill(after[name]["pid"], signal.SIGKILL)
    assert "nothing of it is left" in lab.run("down").stdout
    assert lab.namespaces() == []
    assert not lab.directory.exists()
    left = {pid for pid, started in running if start_time(pid) == started} | lab.processes()
    assert not left, f"still running after down: {left}"
