"""The introduction article's guestbook, running for real in a lab, with each proxy (AntreaProxy,
what `scripts/lab-demo.sh` runs, and kube-proxy, the article's design): Debian's
redis-server as the master and two replicas (replicating from the redis-master Service by name),
three frontends of examples/guestbook/frontend; an entry added through the frontend Service's
NodePort is read back through the replicas; the NetworkPolicy that isolates Redis to the
frontend keeps the app working and shuts everyone else out.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.lab import Lab, namespace_manifest, new_lab, pod_manifest

EXAMPLE = Path(__file__).parents[2] / "examples" / "guestbook"
NS = "development"
NODE_PORT = 32120


@pytest.fixture(scope="module", params=["antrea", "kube-proxy"])
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = new_lab(tmp_path_factory)
    try:
        lab.up(3, "vxlan", "--proxy", request.param)
        lab.run("apply", "-f", str(EXAMPLE / "guestbook.yaml"), "--wait")
        lab.apply(namespace_manifest("outsiders") + pod_manifest("outsiders", "intruder"), "--wait")
        yield lab
    finally:
        lab.destroy()


def _address(lab: Lab, node: str) -> str:
    return str(next(n["address"] for n in lab.status()["nodes"] if n["name"] == node)).split("/")[0]


def _curl(lab: Lab, node: str, *args: str) -> dict[str, object]:
    """A request from `node`'s namespace to the frontend's NodePort on `node1`."""
    url = f"http://{_address(lab, 'node1')}:{NODE_PORT}/entries"
    done = lab.run("exec", "--node", node, "--", "curl", "-sS", "-m", "5", *args, url)
    return dict(json.loads(done.stdout))


def _pod(lab: Lab, prefix: str) -> str:
    return f"{NS}/{next(name for name in sorted(lab.pods(NS)) if name.startswith(prefix))}"


def _redis(lab: Lab, pod: str, host: str, *command: str) -> tuple[int, str]:
    done = lab.run("exec", pod, "--", "timeout", "3", "redis-cli", "-h", host, *command, check=False)
    return done.returncode, done.stdout.strip()


def _read_back(lab: Lab, entry: str) -> dict[str, object]:
    """The entries read through a replica once `entry` is among them (replication is asynchronous)."""
    deadline = time.monotonic() + 10
    while True:
        answer = _curl(lab, "node2")
        if entry in answer["entries"] or time.monotonic() > deadline:  # type: ignore[operator]
            return answer
        time.sleep(0.2)


def test_the_replicas_replicate_from_redis_master_found_by_name(lab: Lab):
    """A replica that started before the master's Service answered tries again every second."""
    for replica in [name for name in lab.pods(NS) if name.startswith("redis-slave")]:
        deadline = time.monotonic() + 20
        while True:
            status, info = _redis(lab, f"{NS}/{replica}", "127.0.0.1", "info", "replication")
            assert status == 0 and "role:slave" in info and "master_host:redis-master" in info, info
            if "master_link_status:up" in info or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert "master_link_status:up" in info, info


def test_an_entry_added_through_the_node_port_is_read_back_through_a_replica(lab: Lab):
    added = _curl(lab, "node3", "--data", "hello from node3")
    assert added["added"] == "hello from node3" and added["writtenTo"] == "redis-master"
    answer = _read_back(lab, "hello from node3")
    assert answer["readFrom"] == "redis-slave" and "hello from node3" in answer["entries"]  # type: ignore[operator]
    status, entries = _redis(lab, _pod(lab, "frontend"), "redis-slave", "lrange", "guestbook", "0", "-1")
    assert status == 0 and "hello from node3" in entries.splitlines()


def test_the_policy_isolating_redis_keeps_the_app_working_and_shuts_the_others_out(lab: Lab):
    intruder = "outsiders/intruder"
    assert _redis(lab, intruder, "redis-master.development", "ping") == (0, "PONG")
    lab.run("apply", "-f", str(EXAMPLE / "network-policy.yaml"), "--wait")

    added = _curl(lab, "node2", "--data", "after the policy")
    assert added["writtenTo"] == "redis-master"
    assert "after the policy" in _read_back(lab, "after the policy")["entries"]  # type: ignore[operator]
    assert _redis(lab, _pod(lab, "frontend"), "redis-master", "ping") == (0, "PONG")

    assert _redis(lab, intruder, "redis-master.development", "ping")[0] != 0
    assert _redis(lab, intruder, "redis-slave.development", "ping")[0] != 0
    # (not a replica to the replicas' Service: it may pick the replica itself, which a pod always reaches)
    assert _redis(lab, _pod(lab, "redis-master"), "redis-slave", "ping")[0] != 0
    verdicts = lab.verdicts(6379, "-n", NS)
    for source, row in verdicts.items():
        for target, verdict in row.items():
            if "/redis-" not in target or source == target:
                continue
            allowed = "/frontend-" in source or ("/redis-slave" in source and "/redis-master" in target)
            assert verdict == ("reachable" if allowed else "dropped"), (source, target, verdict)
