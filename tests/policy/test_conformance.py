"""NetworkPolicy conformance with real packets, in the style of the upstream netpol e2e suite.

Two nodes, a real controller, agents enforcing policies. Namespaces x, y, z (labelled ns=<name>)
each hold pods a and c on node 1 and b on node 2 (labelled pod=<name>), every pod serving TCP
and UDP 80 and 81 and naming its ports serve-<port>-<protocol>; port "web" is 80 on a and c, 81
on b. Each case applies policies through the API, waits until the controller reports them
realized, and probes every pod from every pod until the matrix is the expected one (a pod
always reaches itself: that traffic never leaves it). Cases cover the features of the
Kubernetes NetworkPolicy documentation, ingress and egress, same-node and cross-node, and
changes mid-test: a policy edit, pod and namespace relabels, a pod added, and an established
connection that outlives a policy denying new ones. Rules count every packet, both ways, of the
connections they allowed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import pytest

from pyantrea_testing.names import unique_name
from pyantrea_testing.ovs import require_root_and_ovs
from tests.agent.cluster import wait_until
from tests.controlplane import k8s
from tests.policy.cluster import PolicyCluster, PolicyPod

pytestmark = [pytest.mark.ovs, pytest.mark.slow]

NAMESPACES = ("x", "y", "z")
WEB_PORT = {"a": 80, "b": 81, "c": 80}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PolicyCluster]:
    require_root_and_ovs()
    c = PolicyCluster(tmp_path_factory.mktemp("policy"), prefix=unique_name("np"), count=2)
    with c.start():
        add_conformance_pods(c)
        yield c


def add_conformance_pods(c: PolicyCluster) -> None:
    """Namespaces x, y, z, each with pods a and c on the first node and b on the second, serving
    80 and 81 (TCP and UDP) and a named `web` port."""
    for ns in NAMESPACES:
        c.namespace(ns, ns=ns)
    for ns in NAMESPACES:
        for name, node in (("a", 0), ("b", 1), ("c", 0)):
            ports = [(f"serve-{p}-{proto.lower()}", p, proto) for p in (80, 81) for proto in ("TCP", "UDP")]
            ports.append(("web", WEB_PORT[name], "TCP"))
            c.add_policy_pod(c.nodes[node], ns, name, {"pod": name}, ports)


@contextmanager
def policies(cluster: PolicyCluster, *objects: dict[str, Any]) -> Iterator[None]:
    """Apply the policies for the block, then delete them and wait until no agent has them."""
    for obj in objects:
        cluster.apply_policy(obj)
    try:
        yield
    finally:
        for obj in objects:
            meta = obj["metadata"]
            cluster.delete_policy(meta.get("namespace", ""), meta["name"])
        deadline = time.monotonic() + 30
        while any(r.realizer.store.policies for r in cluster.runtimes.values()):
            assert time.monotonic() < deadline, "deleted policies still on some agent"
            time.sleep(0.05)
        cluster.settle()


def everyone(source: PolicyPod, destination: PolicyPod) -> bool:
    return True


def only(*allowed: str):
    """Reachable when the source is one of `allowed` (namespace/name), or is the destination."""

    def rule(source: PolicyPod, destination: PolicyPod) -> bool:
        return source is destination or source.key in allowed

    return rule


def into(destinations: set[str], rule, otherwise=everyone):
    """`rule` for traffic into `destinations`, `otherwise` for the rest."""

    def combined(source: PolicyPod, destination: PolicyPod) -> bool:
        chosen = rule if destination.key in destinations else otherwise
        return chosen(source, destination)

    return combined


def in_ns(ns: str) -> set[str]:
    return {f"{ns}/{name}" for name in ("a", "b", "c")}


def test_without_policies_every_pod_reaches_every_pod(cluster):
    cluster.expect(everyone)
    cluster.expect(everyone, protocol="UDP", port=81)


def test_deny_all_ingress_isolates_a_namespace_but_not_its_egress_nor_kubelet_probes(cluster):
    deny = k8s.policy("x", "deny-all", {}, policy_types=["Ingress"])
    with policies(cluster, deny):
        cluster.expect(into(in_ns("x"), only()))
        cluster.expect(into(in_ns("x"), only()), protocol="UDP", port=80)
        # The node's own gateway address (kubelet probes) still reaches the pods of its node.
        node1 = cluster.nodes[0]
        local = [cluster.policy_pods[k] for k in ("x/a", "x/c")]
        assert probe_from_node(node1.netns, local) == {"x/a": "reachable", "x/c": "reachable"}


def probe_from_node(node_netns: str, pods: list[PolicyPod]) -> dict[str, str]:
    targets = json.dumps([{"pod": p.key, "ip": str(p.ip.ip)} for p in pods])
    result = subprocess.run(
        ["ip", "netns", "exec", node_netns, sys.executable, "-m", "lab.prober",
         "--protocol", "TCP", "--port", "80", "--timeout", "2"],
        input=targets, capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    return json.loads(result.stdout)


def test_ingress_from_pods_of_the_namespace_then_a_pod_relabelled_into_the_peers(cluster):
    allow = k8s.policy(
        "x", "a-from-b", k8s.labels(pod="a"), ingress=[{"from": [{"podSelector": k8s.labels(pod="b")}]}]
    )
    with policies(cluster, allow):
        cluster.expect(into({"x/a"}, only("x/b")))  # x/b is on the other node
        x_c = cluster.policy_pods["x/c"]
        cluster.label_pod(x_c, pod="b")
        try:
            cluster.expect(into({"x/a"}, only("x/b", "x/c")))  # x/c is on x/a's node
        finally:
            cluster.label_pod(x_c, pod="c")
        cluster.expect(into({"x/a"}, only("x/b")))


def test_ingress_from_namespaces_by_label_follows_a_namespace_relabel(cluster):
    allow = k8s.policy(
        "x", "from-blue", {}, ingress=[{"from": [{"namespaceSelector": k8s.labels(team="blue")}]}]
    )
    with policies(cluster, allow):
        cluster.expect(into(in_ns("x"), only()))
        cluster.label_namespace("y", team="blue")
        try:
            cluster.expect(into(in_ns("x"), only(*in_ns("y"))))
        finally:
            cluster.label_namespace("y", team=None)
        cluster.expect(into(in_ns("x"), only()))


def test_namespace_and_pod_selectors_in_one_peer_and_in_two(cluster):
    both = k8s.policy(
        "x", "and", k8s.labels(pod="a"),
        ingress=[{"from": [{"namespaceSelector": k8s.labels(ns="y"), "podSelector": k8s.labels(pod="b")}]}],
    )  # fmt: skip
    with policies(cluster, both):
        cluster.expect(into({"x/a"}, only("y/b")))
    either = k8s.policy(
        "x", "or", k8s.labels(pod="a"),
        ingress=[{"from": [{"namespaceSelector": k8s.labels(ns="y")}, {"podSelector": k8s.labels(pod="b")}]}],
    )  # fmt: skip
    with policies(cluster, either):
        cluster.expect(into({"x/a"}, only("x/b", *in_ns("y"))))


def test_ingress_from_an_ip_block_with_an_exception(cluster):
    node2 = str(cluster.nodes[1].pod_cidr)
    block = k8s.policy(
        "x", "from-block", k8s.labels(pod="a"),
        ingress=[{"from": [{"ipBlock": {"cidr": "172.16.0.0/16", "except": [node2]}}]}],
    )  # fmt: skip
    with policies(cluster, block):
        node1_pods = [p.key for p in cluster.policy_pods.values() if p.node is cluster.nodes[0]]
        cluster.expect(into({"x/a"}, only(*node1_pods)))


def test_ports_and_protocols_then_the_policy_edited_to_another_protocol(cluster):
    tcp81 = k8s.policy(
        "x", "ports", k8s.labels(pod="a"), ingress=[{"ports": [{"protocol": "TCP", "port": 81}]}]
    )
    with policies(cluster, tcp81):
        cluster.expect(into({"x/a"}, only()), port=80)
        cluster.expect(everyone, port=81)
        cluster.expect(into({"x/a"}, only()), protocol="UDP", port=81)
        udp81 = k8s.policy(
            "x", "ports", k8s.labels(pod="a"), ingress=[{"ports": [{"protocol": "UDP", "port": 81}]}]
        )
        cluster.apply_policy(udp81)
        cluster.expect(everyone, protocol="UDP", port=81)
        cluster.expect(into({"x/a"}, only()), port=81)


def test_a_port_range(cluster):
    ranged = k8s.policy("y", "range", {}, ingress=[{"ports": [{"port": 80, "endPort": 81}]}])
    with policies(cluster, ranged):
        cluster.expect(everyone, port=81)
        cluster.expect(into(in_ns("y"), only()), protocol="UDP", port=80)
    narrow = k8s.policy("y", "range", {}, ingress=[{"ports": [{"port": 81, "endPort": 90}]}])
    with policies(cluster, narrow):
        cluster.expect(into(in_ns("y"), only()), port=80)
        cluster.expect(everyone, port=81)


def test_a_named_port_means_what_each_destination_pod_names_it(cluster):
    named = k8s.policy("y", "web", {}, ingress=[{"ports": [{"port": "web"}]}])
    with policies(cluster, named):
        cluster.expect(into({"y/b"}, only()), port=80)  # y/a and y/c name 80 "web"
        cluster.expect(into({"y/a", "y/c"}, only()), port=81)  # y/b names 81 "web"


def test_egress_to_a_namespace_on_a_port_and_to_named_ports(cluster):
    to_y = k8s.policy(
        "x", "to-y", k8s.labels(pod="a"), policy_types=["Egress"],
        egress=[{"to": [{"namespaceSelector": k8s.labels(ns="y")}], "ports": [{"port": 80}]}],
    )  # fmt: skip
    with policies(cluster, to_y):

        def from_x_a(source: PolicyPod, destination: PolicyPod) -> bool:
            return source.key != "x/a" or destination is source or destination.namespace == "y"

        cluster.expect(from_x_a)
        cluster.expect(lambda s, d: s.key != "x/a" or d is s, port=81)
    to_web = k8s.policy(
        "x", "to-web", k8s.labels(pod="a"), policy_types=["Egress"], egress=[{"ports": [{"port": "web"}]}]
    )
    with policies(cluster, to_web):
        cluster.expect(lambda s, d: s.key != "x/a" or d is s or WEB_PORT[d.name] == 80, port=80)
        cluster.expect(lambda s, d: s.key != "x/a" or d is s or WEB_PORT[d.name] == 81, port=81)


def test_egress_to_an_ip_block_with_an_exception_and_udp(cluster):
    node1 = str(cluster.nodes[0].pod_cidr)
    block = k8s.policy(
        "z", "to-block", k8s.labels(pod="c"), policy_types=["Egress"],
        egress=[{"to": [{"ipBlock": {"cidr": "172.16.0.0/16", "except": [node1]}}],
                 "ports": [{"protocol": "UDP", "port": 80}]}],
    )  # fmt: skip

    def from_z_c(source: PolicyPod, destination: PolicyPod) -> bool:
        return source.key != "z/c" or destination is source or destination.node is cluster.nodes[1]

    with policies(cluster, block):
        cluster.expect(from_z_c, protocol="UDP", port=80)
        cluster.expect(lambda s, d: s.key != "z/c" or d is s, port=80)


ECHO_SERVER = """
import socket, sys, threading
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("0.0.0.0", int(sys.argv[1])))
server.listen()
print("ready", flush=True)
def echo(conn):
    with conn, conn.makefile("rwb") as stream:
        for line in stream:
            stream.write(line)
            stream.flush()
while True:
    threading.Thread(target=echo, args=(server.accept()[0],), daemon=True).start()
"""

ECHO_CLIENT = """
import socket, sys
conn = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
stream = conn.makefile("rwb")
for line in sys.stdin:
    stream.write(line.encode())
    stream.flush()
    try:
        print(stream.readline().decode().strip() or "closed", flush=True)
    except OSError:
        print("timeout", flush=True)
"""


@contextmanager
def running(pod: PolicyPod, script: str, *args: str) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        ["ip", "netns", "exec", pod.netns, sys.executable, "-c", script, *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def exchange(client: subprocess.Popen[str], line: str) -> str:
    assert client.stdin is not None and client.stdout is not None
    client.stdin.write(line + "\n")
    client.stdin.flush()
    return client.stdout.readline().strip()


def test_an_established_connection_outlives_a_policy_that_denies_new_ones(cluster):
    server_pod, client_pod = cluster.policy_pods["y/b"], cluster.policy_pods["x/a"]
    with running(server_pod, ECHO_SERVER, "9000") as server:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        with running(client_pod, ECHO_CLIENT, str(server_pod.ip.ip), "9000") as client:
            assert exchange(client, "before") == "before"
            deny_in = k8s.policy("y", "deny-in", k8s.labels(pod="b"), policy_types=["Ingress"])
            deny_out = k8s.policy("x", "deny-out", k8s.labels(pod="a"), policy_types=["Egress"])
            with policies(cluster, deny_in, deny_out):
                cluster.expect(lambda s, d: d is s or (d.key != "y/b" and s.key != "x/a"))
                assert exchange(client, "during") == "during"  # both sides deny new connections
            assert exchange(client, "after") == "after"


def test_rules_count_their_packets_and_the_controller_shows_policies_realized(cluster):
    allow = k8s.policy("z", "counted", k8s.labels(pod="b"), ingress=[{"ports": [{"port": 80}]}])
    with policies(cluster, allow):
        status = cluster.status("z", "counted")
        assert status is not None
        assert (status.phase.value, status.current_nodes_realized, status.desired_nodes_realized) == (
            "Realized", 1, 1,
        )  # fmt: skip
        cluster.expect(everyone, port=80)
        node2 = cluster.nodes[1]

        def metric_flows() -> list[str]:
            dump = node2.ovs.ofctl("dump-flows", "br-int", "table=101")
            return [line for line in dump.splitlines() if "priority=200" in line]

        # ovs-vswitchd credits datapath flows' packets to the rules when it revalidates them.
        assert wait_until(lambda: all("n_packets=0," not in x for x in metric_flows()), timeout=10), (
            metric_flows()
        )
        [stats] = cluster.loop.run(cluster.runtimes[node2.name].realizer.rule_stats())
        assert (stats.policy.name, len(stats.conj_ids)) == ("counted", 1)
        [new, later] = sorted(metric_flows(), key=lambda line: "ct_label" in line)
        assert f"reg6={stats.conj_ids[0]:#x} " in new and f"ct_label={stats.conj_ids[0]:#x}/" in later
        assert 0 < stats.packets < stats.bytes


@pytest.mark.parametrize("server", ["y/b", "x/c"], ids=["cross-node", "same-node"])
def test_a_rule_counts_every_packet_both_ways_of_the_connections_it_allowed(cluster, server):
    """x/a talks to `server` over one TCP connection that an egress rule of x/a (counted on x/a's
    node) and an ingress rule of the server (counted on its node) allow."""
    server_pod, client_pod = cluster.policy_pods[server], cluster.policy_pods["x/a"]
    into_server = k8s.policy(
        server_pod.namespace, "server-from-a", k8s.labels(pod=server_pod.name),
        ingress=[{"from": [{"namespaceSelector": k8s.labels(ns="x"), "podSelector": k8s.labels(pod="a")}],
                  "ports": [{"port": 9000}]}],
    )  # fmt: skip
    out_of_a = k8s.policy(
        "x", "a-to-server", k8s.labels(pod="a"), policy_types=["Egress"],
        egress=[{"to": [{"namespaceSelector": k8s.labels(ns=server_pod.namespace),
                         "podSelector": k8s.labels(pod=server_pod.name)}],
                 "ports": [{"port": 9000}]}],
    )  # fmt: skip
    counted = {"server-from-a": server_pod.node, "a-to-server": client_pod.node}

    def counters() -> dict[str, tuple[int, int]]:
        """Each rule's (packets, bytes), from one dump of each node's flows."""
        result = {}
        for node in {node.name for node in counted.values()}:
            for rule in cluster.loop.run(cluster.runtimes[node].realizer.rule_stats()):
                if rule.policy.name in counted:
                    result[rule.policy.name] = (rule.packets, rule.bytes)
        return result

    def grew(before: dict[str, tuple[int, int]], size: int) -> bool:
        """Whether each rule counted the request and its echo since `before`: two packets and
        both lines' bytes more, at least (the packet that opened the connection is 74 bytes)."""
        now = counters()
        return all(
            now[name][0] >= packets + 2 and now[name][1] >= byte_count + 2 * size
            for name, (packets, byte_count) in before.items()
        )

    with policies(cluster, into_server, out_of_a), running(server_pod, ECHO_SERVER, "9000") as server:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        with running(client_pod, ECHO_CLIENT, str(server_pod.ip.ip), "9000") as client:
            seen = counters()
            for number in range(4):
                line = f"{number}:" + "x" * 3000  # three segments each way at MTU 1450
                assert exchange(client, line) == line
                # ovs-vswitchd credits packets to the flows when it revalidates its datapath flows.
                assert wait_until(partial(grew, seen, len(line)), timeout=10), (number, seen, counters())
                seen = counters()
            if server_pod.node is client_pod.node:
                # Every packet crossed the one switch once, counted once for each rule (the
                # datapath flows that carried them credit both rules' flows together).
                assert seen["server-from-a"] == seen["a-to-server"]


def test_a_pod_added_later_is_isolated_and_becomes_a_peer(cluster):
    isolate = k8s.policy("z", "new-isolated", k8s.labels(role="new"), policy_types=["Ingress"])
    allow = k8s.policy(
        "x", "a-from-new", k8s.labels(pod="a"),
        ingress=[{"from": [{"namespaceSelector": {}, "podSelector": k8s.labels(role="new")}]}],
    )  # fmt: skip
    with policies(cluster, isolate, allow):
        cluster.expect(into({"x/a"}, only()))
        cluster.add_policy_pod(cluster.nodes[1], "z", "d", {"pod": "d", "role": "new"})
        cluster.expect(into({"x/a"}, only("z/d"), otherwise=into({"z/d"}, only())))
