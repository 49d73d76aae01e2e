"""Start-up: the initial policies are installed in one batch before `wait_initial` returns (the
agent program opens the CNI gate only then), from the controller, or from the files an earlier
run saved when the controller is away; the previous run's flows go once they are; a node that
never saved any policy opens with none when the controller is away."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from agent.openflow.cookies import ROUND_SHIFT
from agent.policy.store import StateSource
from pyantrea_testing.names import unique_name
from pyantrea_testing.ovs import require_root_and_ovs
from tests.agent.cluster import wait_until
from tests.controlplane import k8s
from tests.policy.cluster import PolicyCluster

pytestmark = [pytest.mark.ovs, pytest.mark.slow]


@pytest.fixture
def cluster(tmp_path) -> Iterator[PolicyCluster]:
    require_root_and_ovs()
    with PolicyCluster(tmp_path, prefix=unique_name("ns"), count=1).start() as c:
        c.namespace("x", ns="x")
        c.add_policy_pod(c.nodes[0], "x", "a", {"pod": "a"})
        yield c


def policy_rounds(cluster: PolicyCluster) -> dict[int, int]:
    """Policy flows (tables 50-101, priority 190 and up) on the node, by round."""
    rounds: dict[int, int] = {}
    for table in (50, 60, 61, 90, 100, 101):
        for line in cluster.nodes[0].ovs.ofctl("dump-flows", "br-int", f"table={table}").splitlines():
            if "priority=19" in line or "priority=200" in line:
                cookie = int(line.split("cookie=")[1].split(",")[0], 16)
                rounds[cookie >> ROUND_SHIFT] = rounds.get(cookie >> ROUND_SHIFT, 0) + 1
    return rounds


def test_initial_policies_in_one_batch_from_the_controller_then_from_the_saved_files(cluster):
    node = cluster.nodes[0]
    policy = k8s.policy(
        "x", "a-from-block", k8s.labels(pod="a"), ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}]
    )
    cluster.apply_policy(policy)
    first_round = cluster.agent(node).flows.cookies.round
    assert policy_rounds(cluster) == {first_round: 7}  # peer, pod, action flow, 3 metric flows, isolation

    cluster.stop_agent(node)
    cluster.start_agent(node)  # returns once wait_initial did
    runtime, agent = cluster.runtimes[node.name], cluster.agent(node)
    assert runtime.client.source is StateSource.CONTROLLER
    assert runtime.realizer.batches == 1
    assert wait_until(lambda: policy_rounds(cluster) == {agent.flows.cookies.round: 7})

    cluster.stop_controller()
    cluster.stop_agent(node)
    cluster.start_agent(node)
    runtime, agent = cluster.runtimes[node.name], cluster.agent(node)
    assert runtime.client.source is StateSource.FILES
    assert runtime.realizer.batches == 1
    assert wait_until(lambda: policy_rounds(cluster) == {agent.flows.cookies.round: 7})
    cluster.expect(lambda source, destination: True)  # one pod: it reaches itself


def test_a_node_that_saved_nothing_opens_with_no_policies_while_the_controller_is_away(cluster):
    node = cluster.nodes[0]
    cluster.stop_controller()
    cluster.stop_agent(node)
    shutil.rmtree(cluster.config(node).policy_state_dir, ignore_errors=True)
    cluster.start_agent(node)
    runtime = cluster.runtimes[node.name]
    assert not runtime.client.synced
    assert runtime.realizer.batches == 0
    assert policy_rounds(cluster) == {}
