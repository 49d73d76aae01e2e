"""`pyantctl lab soak` on a 3-node lab: a 2-minute soak with every kind of churn (Services and
ClusterNetworkPolicies too) and fault converges with nothing missing, stale or leaked, its pod and
Service probes as evaluated, memory and descriptors reported; and a soak on a lab that holds a
stale flow, a stale group and a leaked veth names them and the seed, and fails."""

from __future__ import annotations

import re
import subprocess

import pytest

from lab import netns
from tests.e2e.lab import PYANTCTL, Lab

pytestmark = pytest.mark.ovs

SOAK_TIMEOUT = 900


def soak(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PYANTCTL), "lab", "soak", *args], env=lab.environ, capture_output=True, text=True,
        timeout=SOAK_TIMEOUT, check=False,
    )  # fmt: skip


def node_netns(lab: Lab, node: str) -> str:
    return {n["name"]: n["netns"] for n in lab.status()["nodes"]}[node]


def test_a_two_minute_soak_with_faults_converges_with_nothing_missing_stale_or_leaked(lab3: Lab):
    done = soak(lab3, "--minutes", "2", "--seed", "20261206")
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    out = done.stdout
    assert "converged: flows, leaks and reachability all check out" in out
    for node in ("node1", "node2", "node3"):
        assert re.search(rf"^{node}: \d+ flows and \d+ groups equal a fresh agent's$", out, re.M), out
        assert re.search(rf"^  agent on {node}: [0-9.]+ MiB, \d+ fds -> [0-9.]+ MiB, \d+ fds", out, re.M), out
    assert re.search(r"^  controller on node1: [0-9.]+ MiB, \d+ fds -> ", out, re.M), out
    assert re.search(
        r"^reachability: \d+x\d+ probes equal the evaluation of \d+ policies and \d+ cluster policies$",
        out,
        re.M,
    )
    judged = re.search(
        r"^services: (\d+) of \d+ probes of (\d+) Service ports equal the evaluation", out, re.M
    )
    assert judged and int(judged.group(1)) > 0, out
    for kind in ("Service", "ClusterNetworkPolicy"):
        assert re.search(rf"^ +\d+ apply {kind}$", out, re.M), out
    changes = int(re.search(r"(\d+) changes applied", out).group(1))
    faults = int(re.search(r"faults injected: (\d+)", out).group(1))
    assert changes > 50 and faults >= 1, out
    assert re.search(r"convergence over \d+ rounds: p50 [0-9.]+s, p99 [0-9.]+s", out)
    assert "leaks: 0" in out


def test_a_soak_names_a_stale_flow_a_stale_group_a_leaked_veth_and_the_seed(lab3: Lab):
    """What the checks catch: a flow no agent would install, left behind by an earlier agent run
    (a round's cookie that is not the running agent's, which only a restart cleans up; a flow with
    the running agent's round would go at its next replay), a group no flow selects (as a Service
    port whose flows went but whose group stayed would leave), and a veth pair no pod owns."""
    node3 = node_netns(lab3, "node3")
    mgmt = f"unix:{lab3.directory}/nodes/node2/ovs/br-int.mgmt"
    flow = "cookie=0xabc0000000000000,table=90,priority=1,ip,nw_src=10.9.9.9,actions=drop"
    subprocess.run(["ovs-ofctl", "-O", "OpenFlow15", "add-flow", mgmt, flow], check=True)
    group = "group_id=4000,type=select,bucket=bucket_id:0,actions=set_field:0xa090909->reg3,resubmit(,35)"
    subprocess.run(["ovs-ofctl", "-O", "OpenFlow15", "add-group", mgmt, group], check=True)
    netns.run(node3, "ip", "link", "add", "soakleak0", "type", "veth", "peer", "name", "soakleak1")
    try:
        done = soak(lab3, "--minutes", "0.2", "--seed", "5", "--no-kills")
    finally:
        netns.run(node3, "ip", "link", "del", "soakleak0")
    assert done.returncode == 1, done.stdout
    out = done.stdout
    assert (
        "node2: stale flow (a fresh agent does not install it): table=90, priority=1,ip,nw_src=10.9.9.9 actions=drop"
        in out
    )
    assert "node3: host veth soakleak0 is no pod's OVS port" in out
    assert "node2: group id 4000 is selected by no flow" in out
    assert re.search(
        r"^  node2: stale group \(a fresh agent does not install it\): group_id=G[0-9a-f]{8},type=select,"
        r"bucket=actions=set_field:0xa090909->reg3,resubmit\(,35\)$",
        out,
        re.M,
    ), out
    assert "reproduce with --seed 5" in out
    assert "node2: flow missing" not in out  # the rest of node2's flows were a fresh agent's
