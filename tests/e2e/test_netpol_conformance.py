"""NetworkPolicy conformance through the lab, written from the Kubernetes NetworkPolicy
documentation (kubernetes.io/docs/concepts/services-networking/network-policies): each case
applies policies with `lab apply --wait` (so they are realized on every node that needs them),
probes every pod from every pod, and compares the whole matrix with what the documentation says.

Nine pods, as in the upstream e2e suite: a, b and c in each of the namespaces x, y and z
(labelled pod=<name> and ns=<namespace>), spread over three nodes by the scheduler, each
serving TCP and UDP on ports 80 and 81 under the names serve-80-tcp, serve-81-tcp,
serve-80-udp and serve-81-udp. A pod always reaches itself (that traffic never leaves it).
After each case its policies are deleted and the test waits until every pod reaches every pod
again, so the cases are independent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from tests.e2e.lab import Lab, namespace_manifest, new_lab

pytestmark = pytest.mark.ovs

NAMESPACES = ("x", "y", "z")
PODS = tuple(f"{ns}/{name}" for ns in NAMESPACES for name in ("a", "b", "c"))
Allowed = Callable[[str, str], bool]


def _pods_manifest() -> str:
    manifest = ""
    for namespace in NAMESPACES:
        manifest += namespace_manifest(namespace, f"ns: {namespace}")
        for name in ("a", "b", "c"):
            manifest += f"""\
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {namespace}, labels: {{pod: {name}}}}}
spec:
  containers:
  - name: server
    image: lab
    ports:
    - {{name: serve-80-tcp, containerPort: 80}}
    - {{name: serve-81-tcp, containerPort: 81}}
    - {{name: serve-80-udp, containerPort: 80, protocol: UDP}}
    - {{name: serve-81-udp, containerPort: 81, protocol: UDP}}
---
"""
    return manifest


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = new_lab(tmp_path_factory)
    try:
        lab.up(3, "vxlan")
        lab.apply(_pods_manifest(), "--wait")
        nodes = {pod["spec"]["nodeName"] for ns in NAMESPACES for pod in lab.pods(ns).values()}
        assert nodes == {"node1", "node2", "node3"}
        _wait_open(lab)
        yield lab
    finally:
        lab.destroy()


@pytest.fixture
def lab(cluster: Lab) -> Iterator[Lab]:
    """The cluster; every NetworkPolicy a case made is deleted afterwards, and connectivity is back."""
    try:
        yield cluster
    finally:
        made: dict[str, list[str]] = {}
        for item in cluster.json("get", "netpol", "-A", "-o", "json")["items"]:
            made.setdefault(item["metadata"]["namespace"], []).append(item["metadata"]["name"])
        for namespace, names in made.items():
            cluster.run("delete", "networkpolicy", *names, "-n", namespace)
        _wait_open(cluster)


def _wait_open(lab: Lab, timeout: float = 60.0) -> None:
    """Until every pod reaches every pod on TCP 80. That is enough: every case's policies cut
    some TCP 80 path on each node they were installed on, and an agent removes a policy's flows
    in one bundle, so once those paths are open no flow of the policy is left."""
    deadline = time.monotonic() + timeout
    while True:
        matrix = lab.probe(80)  # every pod, the lab's CoreDNS too: only the cases' pods count
        if all(matrix[src][dst] for src in PODS for dst in PODS):
            return
        assert time.monotonic() < deadline, "connectivity did not come back after the policies were deleted"


def policy(name: str, namespace: str, spec: str) -> str:
    indented = "\n".join(f"  {line}" for line in spec.strip().splitlines())
    return f"""\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: {name}, namespace: {namespace}}}
spec:
{indented}
---
"""


def ingress_to_a_from(peer: str) -> str:
    """The spec of a policy for the pods labelled pod=a admitting one peer."""
    return f"podSelector: {{matchLabels: {{pod: a}}}}\ningress:\n- from:\n  - {peer}\n"


def check(lab: Lab, port: int, allowed: Allowed, protocol: str = "TCP", *, within: float = 0.0) -> None:
    """Probe every pair on `port` and compare with `allowed(source, destination)`; with `within`,
    probe again until it matches or that many seconds pass (a label change has no status to wait
    for: its realization shows only in the datapath)."""
    expected = {src: {dst: src == dst or allowed(src, dst) for dst in PODS} for src in PODS}
    deadline = time.monotonic() + within
    while True:
        observed = lab.probe(port, "--protocol", protocol)
        wrong = [
            f"{src} -> {dst}: expected {'.' if expected[src][dst] else 'X'}"
            for src in PODS
            for dst in PODS
            if observed[src][dst] != expected[src][dst]
        ]
        if not wrong or time.monotonic() > deadline:
            break
    assert not wrong, f"{protocol} {port}: " + "; ".join(wrong)


def ns(pod: str) -> str:
    return pod.split("/", maxsplit=1)[0]


def everyone(src: str, dst: str) -> bool:
    return True


def test_default_deny_ingress_isolates_every_pod_of_the_namespace(lab: Lab):
    lab.apply(policy("default-deny-ingress", "x", "podSelector: {}\npolicyTypes: [Ingress]"), "--wait")
    for port, protocol in ((80, "TCP"), (81, "UDP")):
        check(lab, port, lambda src, dst: ns(dst) != "x", protocol)


def test_default_deny_egress_stops_every_connection_from_the_namespace(lab: Lab):
    lab.apply(policy("default-deny-egress", "y", "podSelector: {}\npolicyTypes: [Egress]"), "--wait")
    check(lab, 80, lambda src, dst: ns(src) != "y")


def test_ingress_from_a_pod_selector_admits_only_those_pods_of_the_same_namespace(lab: Lab):
    spec = """
podSelector: {matchLabels: {pod: a}}
ingress:
- from:
  - podSelector: {matchLabels: {pod: b}}
"""
    lab.apply(policy("allow-b", "x", spec), "--wait")
    check(lab, 80, lambda src, dst: dst != "x/a" or src == "x/b")


def test_ingress_from_a_namespace_selector_admits_every_pod_of_those_namespaces(lab: Lab):
    spec = """
podSelector: {matchLabels: {pod: a}}
ingress:
- from:
  - namespaceSelector: {matchLabels: {ns: y}}
"""
    lab.apply(policy("allow-ns-y", "x", spec), "--wait")
    check(lab, 80, lambda src, dst: dst != "x/a" or ns(src) == "y")


def test_namespace_and_pod_selector_in_one_peer_must_both_match(lab: Lab):
    spec = """
podSelector: {matchLabels: {pod: a}}
ingress:
- from:
  - namespaceSelector: {matchLabels: {ns: y}}
    podSelector: {matchLabels: {pod: c}}
"""
    lab.apply(policy("allow-y-c", "x", spec), "--wait")
    check(lab, 80, lambda src, dst: dst != "x/a" or src == "y/c")


def test_namespace_and_pod_selectors_as_two_peers_admit_either(lab: Lab):
    spec = """
podSelector: {matchLabels: {pod: a}}
ingress:
- from:
  - namespaceSelector: {matchLabels: {ns: y}}
  - podSelector: {matchLabels: {pod: c}}
"""
    lab.apply(policy("allow-y-or-c", "x", spec), "--wait")
    check(lab, 80, lambda src, dst: dst != "x/a" or ns(src) == "y" or src == "x/c")


def test_match_expressions_select_pods_and_namespaces(lab: Lab):
    spec = """
podSelector: {matchExpressions: [{key: pod, operator: In, values: [a, b]}]}
ingress:
- from:
  - namespaceSelector: {matchExpressions: [{key: ns, operator: NotIn, values: [x, y]}]}
"""
    lab.apply(policy("allow-z", "x", spec), "--wait")
    check(lab, 80, lambda src, dst: dst not in ("x/a", "x/b") or ns(src) == "z")


def test_ip_block_with_except_admits_the_cidr_but_not_the_exception(lab: Lab):
    excluded = lab.pods("z")["b"]["status"]["podIP"]
    spec = f"""
podSelector: {{matchLabels: {{pod: a}}}}
ingress:
- from:
  - ipBlock: {{cidr: 172.16.0.0/16, except: [{excluded}/32]}}
"""
    lab.apply(policy("allow-cidr", "x", spec), "--wait")
    check(lab, 80, lambda src, dst: dst != "x/a" or src != "z/b")


def test_ports_restrict_an_allow_rule_to_its_port_and_protocol(lab: Lab):
    spec = """
podSelector: {matchLabels: {pod: a}}
ingress:
- ports: [{port: 81, protocol: UDP}]
"""
    lab.apply(policy("allow-udp-81", "x", spec), "--wait")
    check(lab, 81, everyone, "UDP")
    check(lab, 80, lambda src, dst: dst != "x/a", "UDP")
    check(lab, 81, lambda src, dst: dst != "x/a")


def test_a_named_port_is_resolved_on_the_destination_pod(lab: Lab):
    spec = """
podSelector: {matchLabels: {pod: a}}
ingress:
- ports: [{port: serve-81-tcp}]
"""
    lab.apply(policy("allow-named", "x", spec), "--wait")
    check(lab, 81, everyone)
    check(lab, 80, lambda src, dst: dst != "x/a")


def test_end_port_allows_a_range(lab: Lab):
    spec = """
podSelector: {matchLabels: {pod: a}}
ingress:
- ports: [{port: 81, endPort: 90, protocol: TCP}]
"""
    lab.apply(policy("allow-range", "x", spec), "--wait")
    check(lab, 81, everyone)
    check(lab, 80, lambda src, dst: dst != "x/a")


def test_egress_to_a_namespace_on_one_port(lab: Lab):
    spec = """
podSelector: {matchLabels: {pod: a}}
policyTypes: [Egress]
egress:
- to:
  - namespaceSelector: {matchLabels: {ns: z}}
  ports: [{port: 80}]
"""
    lab.apply(policy("egress-to-z", "x", spec), "--wait")
    check(lab, 80, lambda src, dst: src != "x/a" or ns(dst) == "z")
    check(lab, 81, lambda src, dst: src != "x/a")


def test_several_policies_add_up(lab: Lab):
    first = policy("from-b", "x", ingress_to_a_from("podSelector: {matchLabels: {pod: b}}"))
    second = policy("from-z", "x", ingress_to_a_from("namespaceSelector: {matchLabels: {ns: z}}"))
    lab.apply(first + second, "--wait")
    check(lab, 80, lambda src, dst: dst != "x/a" or src == "x/b" or ns(src) == "z")


def test_ingress_and_egress_together(lab: Lab):
    spec = """
podSelector: {matchLabels: {pod: b}}
policyTypes: [Ingress, Egress]
ingress:
- from:
  - podSelector: {matchLabels: {pod: c}}
egress:
- to:
  - podSelector: {matchLabels: {pod: c}}
"""
    lab.apply(policy("b-with-c-only", "y", spec), "--wait")
    check(lab, 80, lambda src, dst: (dst != "y/b" or src == "y/c") and (src != "y/b" or dst == "y/c"))


def test_updates_to_policies_and_labels_take_effect(lab: Lab):
    def allow(peer: str) -> str:
        return policy("allow-peer", "x", ingress_to_a_from(f"podSelector: {{matchLabels: {{pod: {peer}}}}}"))

    lab.apply(allow("b"), "--wait")
    check(lab, 80, lambda src, dst: dst != "x/a" or src == "x/b")

    # The policy is edited: now x/c is the peer.
    lab.apply(allow("c"), "--wait")
    check(lab, 80, lambda src, dst: dst != "x/a" or src == "x/c")

    # A pod is relabelled into the peer selector, and out of it again.
    lab.run("label", "pod", "b", "-n", "x", "pod=c", "--overwrite")
    try:
        check(lab, 80, lambda src, dst: dst != "x/a" or src in ("x/b", "x/c"), within=30)
    finally:
        lab.run("label", "pod", "b", "-n", "x", "pod=b", "--overwrite")
    check(lab, 80, lambda src, dst: dst != "x/a" or src == "x/c", within=30)

    # A namespace gains the label a namespace selector wants.
    by_namespace = ingress_to_a_from("namespaceSelector: {matchLabels: {team: blue}}")
    lab.apply(policy("allow-peer", "x", by_namespace), "--wait")
    check(lab, 80, lambda src, dst: dst != "x/a")
    lab.run("label", "namespace", "z", "team=blue")
    try:
        check(lab, 80, lambda src, dst: dst != "x/a" or ns(src) == "z", within=30)
    finally:
        lab.run("label", "namespace", "z", "team-")
