"""ClusterNetworkPolicy conformance with real packets, written from the network-policy-api v0.3.0
documentation (API reference and user stories), including its interplay with NetworkPolicy.

Two nodes, the real control plane with the upstream CRD, a real controller and agents. As in
`test_conformance`: namespaces x, y, z (ns=<name>) each hold pods a and c on node 1 and b on
node 2 (pod=<name>), serving TCP and UDP 80 and 81; port "web" is 80 on a and c, 81 on b.
Each case applies its policies, waits until the controller reports them realized, and probes
every pod from every pod until the matrix is the expected one.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from pyantrea_testing.names import unique_name
from pyantrea_testing.ovs import require_root_and_ovs
from tests.controlplane import k8s
from tests.policy.cluster import PolicyCluster, PolicyPod
from tests.policy.test_conformance import (
    ECHO_CLIENT,
    ECHO_SERVER,
    add_conformance_pods,
    exchange,
    policies,
    running,
)

pytestmark = [pytest.mark.ovs, pytest.mark.slow]

NAMESPACES = ("x", "y", "z")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PolicyCluster]:
    require_root_and_ovs()
    c = PolicyCluster(tmp_path_factory.mktemp("cnp"), prefix=unique_name("cnp"), count=2)
    with c.start():
        c.install_cluster_policy_crd()
        add_conformance_pods(c)
        yield c


def ns_is(name: str) -> dict[str, Any]:
    return {"matchLabels": {"ns": name}}


EVERY_NAMESPACE: dict[str, Any] = {"namespaces": {}}


POD_A = {"matchLabels": {"pod": "a"}}
POD_B = {"matchLabels": {"pod": "b"}}
WEB = [{"destinationNamedPort": "web"}]
HOSTNAME = "kubernetes.io/hostname"


def namespaces(name: str) -> dict[str, Any]:
    return {"namespaces": ns_is(name)}


def ns(pod: PolicyPod) -> str:
    return pod.key.split("/")[0]


def test_story_1_an_admin_deny_is_not_overridden_by_a_networkpolicy_that_allows(cluster):
    """User story 1: a cluster-wide deny into a sensitive namespace."""
    deny = k8s.cluster_policy(
        "sensitive", "Admin", 10, namespaces("x"),
        ingress=[{"name": "select-all-deny-all", "action": "Deny", "from": [EVERY_NAMESPACE]}],
    )  # fmt: skip
    allow_all = k8s.policy("x", "allow-all", {}, ingress=[{}])
    with policies(cluster, deny, allow_all):
        cluster.expect(lambda s, d: s is d or ns(d) != "x")
        cluster.expect(lambda s, d: s is d or ns(d) != "x", protocol="UDP", port=81)


def test_story_2_an_admin_accept_is_not_overridden_by_a_networkpolicy_that_isolates(cluster):
    """User story 2: monitoring reaches every namespace whatever its NetworkPolicies say."""
    accept = k8s.cluster_policy(
        "monitoring", "Admin", 30, EVERY_NAMESPACE,
        ingress=[{"name": "allow-monitoring-ns-ingress", "action": "Accept", "from": [namespaces("z")]}],
    )  # fmt: skip
    deny_x = k8s.policy("x", "default-deny", {}, policy_types=["Ingress"])
    with policies(cluster, accept, deny_x):
        cluster.expect(lambda s, d: s is d or ns(d) != "x" or ns(s) == "z")


def test_story_3_pass_delegates_to_networkpolicy_before_a_lower_admin_deny(cluster):
    """User story 3: Pass hands y's traffic into x to x's NetworkPolicy; the rest is denied."""
    delegate = k8s.cluster_policy(
        "delegate", "Admin", 20, namespaces("x"),
        ingress=[{"name": "y-to-networkpolicy", "action": "Pass", "from": [namespaces("y")]}],
    )  # fmt: skip
    deny = k8s.cluster_policy(
        "deny-into-x", "Admin", 21, namespaces("x"), ingress=[{"action": "Deny", "from": [EVERY_NAMESPACE]}]
    )
    only_y_b = k8s.policy(
        "x", "only-y-b", {}, ingress=[{"from": [{"namespaceSelector": ns_is("y"), "podSelector": POD_B}]}]
    )  # fmt: skip
    with policies(cluster, delegate, deny, only_y_b):
        cluster.expect(lambda s, d: s is d or ns(d) != "x" or s.key == "y/b")


def test_story_5_a_baseline_default_deny_that_networkpolicy_overrides(cluster):
    """User story 5: a zero-trust default; namespace owners open up with NetworkPolicy."""
    baseline = k8s.cluster_policy(
        "default", "Baseline", 10, EVERY_NAMESPACE, ingress=[{"action": "Deny", "from": [EVERY_NAMESPACE]}]
    )
    open_x = k8s.policy("x", "open", {}, ingress=[{}])
    with policies(cluster, baseline, open_x):
        cluster.expect(lambda s, d: s is d or ns(d) == "x")


def test_priority_decides_between_admin_policies_and_an_edit_reorders_them(cluster):
    accept_y = k8s.cluster_policy(
        "accept-y", "Admin", 1, namespaces("x"), ingress=[{"action": "Accept", "from": [namespaces("y")]}]
    )
    deny_all = k8s.cluster_policy(
        "deny-all", "Admin", 2, namespaces("x"), ingress=[{"action": "Deny", "from": [EVERY_NAMESPACE]}]
    )
    with policies(cluster, accept_y, deny_all):
        cluster.expect(lambda s, d: s is d or ns(d) != "x" or ns(s) == "y")
        later = k8s.cluster_policy(
            "accept-y", "Admin", 3, namespaces("x"), ingress=[{"action": "Accept", "from": [namespaces("y")]}]
        )
        cluster.apply_policy(later)
        cluster.expect(lambda s, d: s is d or ns(d) != "x")


def test_rule_order_within_a_policy_and_an_admin_accept_of_egress_still_meets_ingress_rules(cluster):
    ordered = k8s.cluster_policy(
        "ordered", "Admin", 5, namespaces("y"),
        egress=[{"name": "first", "action": "Accept", "to": [namespaces("x")]},
                {"name": "then", "action": "Deny", "to": [EVERY_NAMESPACE]}],
    )  # fmt: skip
    isolate_x_a = k8s.policy("x", "isolate-a", {"matchLabels": {"pod": "a"}}, policy_types=["Ingress"])
    with policies(cluster, ordered, isolate_x_a):
        cluster.expect(lambda s, d: s is d or (d.key != "x/a" and (ns(s) != "y" or ns(d) == "x")))


def test_egress_to_networks_on_a_port_and_to_namespaces_on_a_port_range(cluster):
    y_b = cluster.policy_pods["y/b"]
    deny = k8s.cluster_policy(
        "egress-guard", "Admin", 7, namespaces("x"),
        egress=[
            {"action": "Deny", "to": [{"networks": [f"{y_b.ip.ip}/32"]}],
             "protocols": [{"tcp": {"destinationPort": {"number": 80}}}]},
            {"action": "Deny", "to": [namespaces("z")],
             "protocols": [{"tcp": {"destinationPort": {"range": {"start": 80, "end": 81}}}}]},
        ],
    )  # fmt: skip
    with policies(cluster, deny):
        cluster.expect(lambda s, d: s is d or ns(s) != "x" or (d.key != "y/b" and ns(d) != "z"), port=80)
        cluster.expect(lambda s, d: s is d or ns(s) != "x" or ns(d) != "z", port=81)
        cluster.expect(lambda s, d: True, protocol="UDP", port=80)


def test_a_named_port_is_each_destination_pods_own(cluster):
    deny = k8s.cluster_policy(
        "no-web-from-y", "Admin", 8, namespaces("x"),
        ingress=[{"action": "Deny", "from": [namespaces("y")], "protocols": WEB}],
    )  # fmt: skip
    with policies(cluster, deny):
        # web is 80 on a and c, 81 on b
        cluster.expect(lambda s, d: s is d or not (ns(s) == "y" and ns(d) == "x" and d.key != "x/b"), port=80)
        cluster.expect(lambda s, d: s is d or not (ns(s) == "y" and d.key == "x/b"), port=81)


@pytest.mark.parametrize("tier", ["Admin", "Baseline"])
def test_a_deny_that_appears_cuts_the_established_connections_it_selects_and_counts_them(cluster, tier):
    server_pod, client_pod = cluster.policy_pods["y/b"], cluster.policy_pods["x/a"]
    with running(server_pod, ECHO_SERVER, "9000") as server:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        with running(client_pod, ECHO_CLIENT, str(server_pod.ip.ip), "9000") as client:
            assert exchange(client, "before") == "before"
            deny = k8s.cluster_policy(
                "cut", tier, 1, {"pods": {"namespaceSelector": ns_is("x"), "podSelector": POD_A}},
                egress=[{"name": "to-y", "action": "Deny", "to": [namespaces("y")]}],
            )  # fmt: skip
            with policies(cluster, deny):
                cluster.expect(lambda s, d: s is d or s.key != "x/a" or ns(d) != "y")
                assert exchange(client, "during") == "timeout"
                node = cluster.nodes[0]
                stats = cluster.loop.run(cluster.runtimes[node.name].realizer.rule_stats())
                (counted,) = [s for s in stats if s.policy.name == "cut"]
                assert counted.packets > 0


def test_a_nodes_peer_is_the_selected_nodes_addresses(cluster):
    """Pods reach a server on their own node's address until an egress Deny to Node 1 (selected by
    its hostname label) appears for namespace x: then x/a (on node 1) no longer reaches it, while
    y/a (not a subject) still does and x/b still reaches node 2's server."""
    node1, node2 = cluster.nodes[0], cluster.nodes[1]
    servers = [running_on_node(node, "9100") for node in (node1, node2)]
    try:
        for server in servers:
            assert server.stdout is not None and server.stdout.readline().strip() == "ready"

        def reaches(pod: str, node) -> bool:
            with running(cluster.policy_pods[pod], ECHO_CLIENT, str(node.address.ip), "9100") as client:
                return exchange(client, "hello") == "hello"

        assert reaches("x/a", node1) and reaches("y/a", node1) and reaches("x/b", node2)
        deny = k8s.cluster_policy(
            "no-node1", "Admin", 1, namespaces("x"),
            egress=[{"action": "Deny", "to": [{"nodes": {"matchLabels": {HOSTNAME: node1.name}}}]}],
        )  # fmt: skip
        with policies(cluster, deny):
            assert not reaches("x/a", node1)
            assert reaches("y/a", node1) and reaches("x/b", node2)
    finally:
        for server in servers:
            server.kill()
            server.wait()


def running_on_node(node, port: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["ip", "netns", "exec", node.netns, sys.executable, "-c", ECHO_SERVER, port],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
