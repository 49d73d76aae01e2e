"""ClusterNetworkPolicy in the lab, as a user meets it: the lab serves the upstream CRD
(sigs.k8s.io/network-policy-api v0.3.0, manifests/crds/), `lab apply --wait` waits until a
ClusterNetworkPolicy is realized, and the upstream user-story examples (written against
v1alpha2, selecting namespaces by their `kubernetes.io/metadata.name` label) decide what real
packets do between the pods of three namespaces on two nodes, together with NetworkPolicy.
`pyantctl get clusternetworkpolicies` and `pyantctl trace` name the policies, rules and tiers.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.e2e.lab import PYANTCTL, Lab, all_reachable, namespace_manifest, new_lab

pytestmark = pytest.mark.ovs

NAMESPACES = ("sensitive", "monitoring", "apps")
PODS = tuple(f"{ns}/{name}" for ns in NAMESPACES for name in ("a", "b"))


def _pods_manifest() -> str:
    manifest = ""
    for namespace in NAMESPACES:
        manifest += namespace_manifest(namespace)
        for name, node in (("a", "node1"), ("b", "node2")):
            manifest += f"""\
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {namespace}, labels: {{pod: {name}}}}}
spec:
  nodeName: {node}
  containers:
  - name: server
    image: lab
    ports:
    - {{name: http, containerPort: 80}}
---
"""
    return manifest


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = new_lab(tmp_path_factory)
    try:
        lab.up(2, "vxlan")
        assert "installed the CRDs of manifests/crds: clusternetworkpolicies.policy" in lab.up_output
        lab.apply(_pods_manifest(), "--wait")
        yield lab
    finally:
        lab.destroy()


def ns(pod: str) -> str:
    return pod.split("/", maxsplit=1)[0]


def matrix(lab: Lab) -> dict[str, dict[str, bool]]:
    """TCP 80 reachability between this module's pods."""
    return {src: {dst: row[dst] for dst in PODS} for src, row in lab.probe(80).items() if src in PODS}


def check(lab: Lab, allowed, *, within: float = 10.0) -> None:
    expected = {src: {dst: src == dst or allowed(src, dst) for dst in PODS} for src in PODS}
    deadline = time.monotonic() + within
    while True:
        observed = matrix(lab)
        wrong = [f"{s} -> {d}" for s in PODS for d in PODS if observed[s][d] != expected[s][d]]
        if not wrong or time.monotonic() > deadline:
            break
    assert not wrong, "unexpected: " + "; ".join(wrong)


def pyantctl(lab: Lab, *args: str) -> str:
    done = subprocess.run(
        [str(PYANTCTL), *args], env=lab.environ, capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout


STORY_1 = """\
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: cluster-wide-deny-example
spec:
  tier: Admin
  priority: 10
  subject:
    namespaces:
      matchLabels:
        kubernetes.io/metadata.name: sensitive
  ingress:
    - action: Deny
      from:
      - namespaces:
          matchLabels: {}
      name: select-all-deny-all
"""

STORY_2 = """\
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: cluster-wide-allow-example
spec:
  tier: Admin
  priority: 5
  subject:
    namespaces: {}
  ingress:
    - action: Accept
      name: allow-monitoring-ns-ingress
      from:
      - namespaces:
          matchLabels:
            kubernetes.io/metadata.name: monitoring
"""

STORY_5 = """\
apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata:
  name: default
spec:
  tier: Baseline
  priority: 10
  subject:
    namespaces: {}
  ingress:
    - action: Deny
      from:
      - namespaces: {}
"""

OPEN_APPS = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: open, namespace: apps}
spec:
  podSelector: {}
  ingress: [{}]
"""


def delete_all(lab: Lab) -> None:
    for item in lab.json("get", "clusternetworkpolicies", "-o", "json")["items"]:
        lab.run("delete", "clusternetworkpolicy", item["metadata"]["name"])
    for item in lab.json("get", "netpol", "-A", "-o", "json")["items"]:
        lab.run("delete", "networkpolicy", item["metadata"]["name"], "-n", item["metadata"]["namespace"])
    deadline = time.monotonic() + 60
    while not all_reachable(matrix(lab)):
        assert time.monotonic() < deadline, "connectivity did not come back"


def test_user_stories_1_and_2_admin_deny_and_a_higher_priority_admin_accept(lab: Lab):
    try:
        applied = lab.apply(STORY_1, "--wait").stdout
        assert "1 clusternetworkpolicy ready" in applied
        check(lab, lambda s, d: ns(d) != "sensitive")
        lab.apply(STORY_2, "--wait")
        check(lab, lambda s, d: ns(d) != "sensitive" or ns(s) == "monitoring")

        listing = lab.run("get", "cnp").stdout.splitlines()
        assert listing[0].split() == ["NAME", "TIER", "PRIORITY", "AGE"]
        assert {tuple(line.split()[:3]) for line in listing[1:]} == {
            ("cluster-wide-deny-example", "Admin", "10"), ("cluster-wide-allow-example", "Admin", "5"),
        }  # fmt: skip
        table = pyantctl(lab, "get", "clusternetworkpolicies")
        assert "cluster-wide-allow-example" in table.splitlines()[1]  # priority 5 first
        assert "ingress[0]:allow-monitoring-ns-ingress=Accept" in table and "Realized" in table
        stored = lab.json("get", "clusternetworkpolicy", "-o", "json")["items"]
        conditions = {c["type"]: c["status"] for c in stored[0]["status"]["conditions"]}
        assert conditions == {"Realized": "True", "FullyEnforced": "True"}

        denied = pyantctl(lab, "trace", "apps/a", "sensitive/b", "--port", "80")
        assert denied.splitlines()[0].endswith("TCP/80: Dropped")
        rule = "ClusterNetworkPolicy cluster-wide-deny-example ingress[0]:select-all-deny-all (Admin tier)"
        assert f"ingress: DENIED by {rule}" in denied
        assert "85 AdminIngressRule" in denied
        accepted = pyantctl(lab, "trace", "monitoring/a", "sensitive/b", "--port", "80")
        assert "ingress: accepted by ClusterNetworkPolicy cluster-wide-allow-example" in accepted
        answer = json.loads(pyantctl(lab, "trace", "apps/a", "sensitive/a", "--port", "80", "-o", "json"))
        decisions = [d for hop in answer["hops"] for d in hop["policies"]]
        assert {(d.get("tier"), d.get("action")) for d in decisions} == {("Admin", "Deny")}
    finally:
        delete_all(lab)


def test_user_story_5_a_baseline_deny_overridden_by_networkpolicy(lab: Lab):
    try:
        lab.apply(STORY_5 + "---\n" + OPEN_APPS, "--wait")
        check(lab, lambda s, d: ns(d) == "apps")
    finally:
        delete_all(lab)
