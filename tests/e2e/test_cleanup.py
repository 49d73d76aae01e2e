"""`lab down` leaves the machine as it found it, also after a crash; commands without a lab say so.

The host's own network namespace is compared before `up`, while the lab runs, and after `down`
(links, addresses, routes); every process that ran inside the lab's namespaces, and every
process the lab recorded, must be gone; so must its namespaces and its directory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from lab.processes import start_time
from tests.e2e.lab import Lab, namespace_manifest, pod_manifest

pytestmark = pytest.mark.ovs


def host_network() -> dict[str, set[str]]:
    """The host namespace's links, addresses and routes (links by name, counters left out)."""

    def lines(*args: str) -> set[str]:
        return set(
            subprocess.run(
                ["ip", "-o", *args], capture_output=True, text=True, check=True
            ).stdout.splitlines()
        )

    links = {line.split(":")[1].strip().split("@")[0] for line in lines("link", "show")}
    return {
        "links": links,
        "addresses": lines("addr", "show"),
        "routes": lines("route", "show", "table", "all"),
    }


def processes_in(namespaces: list[str]) -> set[tuple[int, int]]:
    """(pid, start time) of every live process inside these network namespaces."""
    inodes = {os.stat(f"/var/run/netns/{name}").st_ino for name in namespaces}
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            inode = os.stat(entry / "ns" / "net").st_ino
        except OSError:
            continue
        started = start_time(int(entry.name))
        if inode in inodes and started is not None:
            found.add((int(entry.name), started))
    return found


def alive(processes: set[tuple[int, int]]) -> set[tuple[int, int]]:
    return {(pid, started) for pid, started in processes if start_time(pid) == started}


def programs(status: dict) -> list[dict]:
    """Every program in `lab status -o json`."""
    found = [*status["controlPlane"].values(), status["apiForward"], status["controller"]["process"]]
    for node in status["nodes"]:
        found += [node["agent"], node["kubelet"], *node["ovs"].values()]
    return found


def recorded_pids(status: dict) -> set[int]:
    return {program["pid"] for program in programs(status)}


def test_down_leaves_the_machine_as_it_found_it(make_lab: Callable[[], Lab]):
    lab = make_lab()
    before = host_network()
    lab.up(2)
    assert host_network() == before, "the lab configured something in the host's namespace"
    pods = pod_manifest("c", "a", node="node1") + pod_manifest("c", "b", node="node2")
    lab.apply(namespace_manifest("c") + pods, "--wait")
    assert lab.probe(80, "-n", "c")["c/a"]["c/b"]
    namespaces = lab.namespaces()
    assert len(namespaces) == 5  # underlay, two nodes, two pods
    running = processes_in(namespaces)
    status = lab.status()
    recorded = recorded_pids(status)
    # the control plane runs in the underlay namespace; the kubectl forwarder on the host's loopback
    outside_nodes = {process["pid"] for process in status["controlPlane"].values()} | {
        status["apiForward"]["pid"]
    }
    assert outside_nodes | {pid for pid, _ in running} >= recorded
    supervisors = lab.processes()
    assert {p["supervisor"]["pid"] for p in programs(status)} <= {pid for pid, _ in supervisors}
    down = lab.run("down")
    assert "nothing of it is left" in down.stdout
    assert lab.namespaces() == []
    assert not lab.directory.exists()
    assert alive(running) == set()
    assert not any(start_time(pid) is not None for pid in recorded)
    assert alive(supervisors) == set() and lab.processes() == set()
    assert host_network() == before
    assert "nothing to do" in lab.run("down").stdout


def kill_supervised(program: dict, *, supervisor_only: bool = False) -> None:
    """SIGKILL the program's supervisor (so nothing starts it again), then the program."""
    os.kill(program["supervisor"]["pid"], signal.SIGKILL)
    while start_time(program["supervisor"]["pid"]) is not None:
        time.sleep(0.01)
    if not supervisor_only:
        os.kill(program["pid"], signal.SIGKILL)


def test_down_cleans_up_a_lab_whose_processes_died(make_lab: Callable[[], Lab]):
    """Programs died with their supervisors, and a kubelet lost only its supervisor."""
    lab = make_lab().up(2)
    lab.apply(namespace_manifest("c") + pod_manifest("c", "a", node="node2"), "--wait")
    status = lab.status()
    node2 = next(node for node in status["nodes"] if node["name"] == "node2")
    kill_supervised(node2["agent"])
    kill_supervised(status["api"]["process"])
    kill_supervised(node2["kubelet"], supervisor_only=True)
    text = lab.run("status").stdout
    assert ("NOT RUNNING" in text and "does not answer" in text) or "API error" in text
    assert "UNSUPERVISED" in text
    refused = lab.run("up", check=False)
    assert refused.returncode == 1 and "broken" in refused.stderr and "lab down" in refused.stderr
    namespaces = lab.namespaces()
    running = processes_in(namespaces) | lab.processes()
    assert node2["kubelet"]["pid"] in {pid for pid, _ in running}
    lab.run("down")
    assert lab.namespaces() == []
    assert alive(running) == set() and lab.processes() == set()
    assert not lab.directory.exists()


def test_a_pod_whose_network_cannot_be_set_up_says_why(make_lab: Callable[[], Lab]):
    """With its node's agent gone, the plugin asks to be called again: the kubelet keeps trying,
    and `apply --wait` gives up after its timeout showing the plugin's message."""
    lab = make_lab().up(2)
    node2 = next(node for node in lab.status()["nodes"] if node["name"] == "node2")
    kill_supervised(node2["agent"])  # else it would be started again at once
    manifest = namespace_manifest("c") + pod_manifest("c", "a", node="node2")
    failed = lab.apply(manifest, "--wait", "--timeout", "5", check=False)
    assert failed.returncode == 1
    assert "not ready after 5s: pod c/a: ContainerCreating on node2 (pyantrea: cannot reach" in failed.stderr
    pod = lab.pods("c")["a"]
    assert pod["status"]["reason"] == "NetworkNotReady"
    assert "cni.sock" in pod["status"]["message"]
    assert lab.run("get", "pods", "-n", "c").stdout.splitlines()[1].split()[2] == "ContainerCreating"


@pytest.mark.parametrize(
    "command",
    [["status"], ["get", "pods"], ["apply", "-f", "/dev/null"], ["exec", "a/b", "--", "true"],
     ["probe", "--port", "80"], ["label", "pod", "a", "x=y"], ["delete", "pod", "a"]],
)  # fmt: skip
def test_commands_without_a_lab_say_there_is_none(make_lab: Callable[[], Lab], command: list[str]):
    done = make_lab().run(*command, check=False)
    assert done.returncode == 1
    assert "no lab is running" in done.stderr and "pyantctl lab up" in done.stderr
